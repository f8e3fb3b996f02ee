package archive

import "testing"

func TestAllows(t *testing.T) {
	tests := []struct {
		user, doc Classification
		want      bool
	}{
		{Unclassified, Unclassified, true},
		{Unclassified, Mat, false},
		{Mat, Mat, true},
		{Mat, ToiMat, false},
		{TuyetMat, ToiMat, true},
		{"", Unclassified, true},
		{"secret", Unclassified, false}, // unknown clearance: nothing
		{TuyetMat, "bogus", false},      // unknown level: never visible
	}
	for _, tt := range tests {
		if got := tt.user.Allows(tt.doc); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.user, tt.doc, got, tt.want)
		}
	}
}
