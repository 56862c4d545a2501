// The operator's backup list: while a backup or restore is queued or running, reload every few seconds to
// show its progress (no polling otherwise). A file, not inline script: the Content-Security-Policy allows
// scripts from the site only.
(function () {
  if (document.querySelector("[data-backup-running]")) {
    var note = document.getElementById("backup-refresh-note");
    if (note) note.hidden = false;
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
