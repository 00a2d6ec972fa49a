// 监督查评 form: phone photos are often 3–8 MB; shrink them in the browser (longest side 1600 px, JPEG) before the
// form is sent, so a save with several photos stays within the upload limits. Without JavaScript, or where the
// browser cannot do it, the original files are sent unchanged (the server checks type and size either way).
(function () {
  "use strict";
  var MAX_SIDE = 1600;
  var QUALITY = 0.82;
  var THRESHOLD = 1024 * 1024; // files under 1 MB are sent as they are

  function shrink(file) {
    if (!/^image\/(jpeg|png)$/.test(file.type) || file.size < THRESHOLD || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified }));
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }

  function onChange(event) {
    var input = event.target;
    if (!window.DataTransfer || !input.files || !input.files.length) { return; }
    var form = input.form;
    var buttons = form ? form.querySelectorAll("button[type=submit]") : [];
    buttons.forEach(function (b) { b.disabled = true; });
    Promise.all(Array.prototype.map.call(input.files, shrink)).then(function (files) {
      var transfer = new DataTransfer();
      files.forEach(function (f) { transfer.items.add(f); });
      input.files = transfer.files;
      input.dataset.shrunk = "1";
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type=file][data-shrink]").forEach(function (input) {
      input.addEventListener("change", onChange);
    });
  });
})();
