// vanthu: small progressive enhancements. Every page works without this
// file; it adds multi-file drag-and-drop uploads with progress, and a print
// button on the register book.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function text(el, s) { el.textContent = s; return el; }

  function uploadOne(form, file, row) {
    return new Promise(function (resolve) {
      var fd = new FormData();
      var csrf = form.getAttribute("data-csrf");
      fd.append("csrf", csrf); // first part: checked before the file is read
      ["direction", "classification"].forEach(function (n) {
        var el = form.elements[n];
        if (el) fd.append(n, el.value);
      });
      fd.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      var bar = row.querySelector("progress");
      var state = row.querySelector(".state");
      xhr.open("POST", "/upload");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          text(state, "Đang tải lên… " + bar.value + "%");
        }
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        bar.value = 100;
        state.textContent = "";
        if (xhr.status === 201 && body) {
          state.appendChild(document.createTextNode("Đã lưu. "));
          var a = document.createElement("a");
          a.href = body.review;
          a.textContent = "Kiểm tra thông tin";
          state.appendChild(a);
          resolve(body.review);
          return;
        }
        state.classList.add("bad");
        var msg = (body && body.error && body.error.message) || "Không tải lên được (mã lỗi " + xhr.status + ").";
        state.appendChild(document.createTextNode(msg + " "));
        if (body && body.error && body.error.existing_id) {
          var b = document.createElement("a");
          b.href = "/documents/" + encodeURIComponent(body.error.existing_id);
          b.textContent = "Mở văn bản đã có";
          state.appendChild(b);
        }
        resolve(null);
      };
      xhr.onerror = function () {
        state.classList.add("bad");
        text(state, "Mất kết nối khi tải lên. Vui lòng thử lại.");
        resolve(null);
      };
      xhr.send(fd);
    });
  }

  function enhanceUpload() {
    var form = document.getElementById("upload-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var input = form.querySelector("input[type=file]");
    var list = document.getElementById("upload-list");
    var zone = document.getElementById("dropzone");
    var hint = form.querySelector("[data-js-hint]");
    input.multiple = true;
    if (hint) hint.hidden = false;
    var dropped = null;

    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) {
        dropped = e.dataTransfer.files;
        input.required = false;
        start(dropped);
      }
    });
    form.addEventListener("submit", function (e) {
      var files = dropped || input.files;
      if (!files || !files.length) return; // let the browser say the field is required
      e.preventDefault();
      start(files);
    });

    function start(files) {
      var jobs = [];
      list.textContent = "";
      Array.prototype.forEach.call(files, function (f) {
        var li = document.createElement("li");
        li.appendChild(text(document.createElement("div"), f.name)).className = "name";
        var bar = document.createElement("progress");
        bar.max = 100; bar.value = 0;
        li.appendChild(bar);
        li.appendChild(text(document.createElement("div"), "Đang chờ…")).className = "state";
        list.appendChild(li);
        jobs.push([f, li]);
      });
      // One after another: a clerk's batch should not saturate the office link.
      var results = [];
      jobs.reduce(function (p, j) {
        return p.then(function () { return uploadOne(form, j[0], j[1]).then(function (r) { results.push(r); }); });
      }, Promise.resolve()).then(function () {
        dropped = null;
        input.value = "";
        if (results.length === 1 && results[0]) window.location.assign(results[0]);
      });
    }
  }

  function enhancePrint() {
    var b = document.querySelector("[data-print]");
    if (!b) return;
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  }

  ready(function () {
    enhanceUpload();
    enhancePrint();
  });
})();
