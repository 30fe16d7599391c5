/* Show the chosen file's name next to the (translated) file button of the upload form. */
(function () {
  "use strict";
  var input = document.getElementById("file");
  var name = document.getElementById("file-name");
  if (!input || !name) { return; }
  input.addEventListener("change", function () {
    if (input.files && input.files.length) { name.textContent = input.files[0].name; }
  });
})();
