package s3

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

// Time limits that make a dead or frozen server fail calls instead of
// hanging them. A killed server refuses connections at once; a frozen one
// (SIGSTOP, a hung VM, a black-holed route) still completes TCP handshakes
// from the kernel's backlog and then answers nothing, so only deadlines on
// the connection itself catch it, including mid-way through an upload.
const (
	dialTimeout           = 5 * time.Second
	responseHeaderTimeout = 20 * time.Second
	// ioIdleTimeout is how long a connection may make no progress in either
	// direction. A server that legitimately computes for longer before its
	// first byte (a CopyObject of many GiB on slow disks) fails too: that is
	// the price of noticing a frozen server.
	ioIdleTimeout = 15 * time.Second
	// poolIdleTimeout is below ioIdleTimeout so the pool drops an idle
	// connection before the read it keeps pending there times out.
	poolIdleTimeout = 10 * time.Second
	// abortTimeout bounds AbortMultipartUpload; see abortBound.
	abortTimeout = 5 * time.Second
)

func newTransport(useSSL bool) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: c, timeout: ioIdleTimeout}, nil
		},
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100,
		IdleConnTimeout:       poolIdleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// Objects are stored bytes: never let the transport un-gzip them.
		DisableCompression: true,
	}
	if useSSL {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return t
}

// idleConn pushes the connection's deadline forward on every read and
// write, so it only expires when no byte moves for timeout. Writes move the
// read deadline too: the transport keeps a read pending on every pooled
// connection, and a new request must not inherit that read's old deadline.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// abortBound gives AbortMultipartUpload requests (DELETE ?uploadId=) a
// short deadline of their own. When a multipart Put fails, minio-go aborts
// the upload before returning, on a context detached from the caller's with
// a one-minute limit: against a frozen server that would double the time a
// failed Put takes to report. An abort that cannot finish quickly is left to
// Store.AbortIncompleteUploads at the next start; the object never became
// visible either way.
type abortBound struct{ *http.Transport }

func (a abortBound) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodDelete || !req.URL.Query().Has("uploadId") {
		return a.Transport.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), abortTimeout)
	resp, err := a.Transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
