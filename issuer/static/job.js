// Polls the import job's JSON and updates the progress bar; reloads for the report when done.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  function tick() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        document.getElementById("job-progress").value = job.percent;
        set("job-state", job.state_label);
        set("rows-done", job.rows_done);
        set("percent", job.percent);
        if (job.rows_estimate) {
          set("rows-estimate", job.rows_estimate);
          document.getElementById("estimate").hidden = false;
        }
        if (job.finished) { window.location.reload(); } else { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
}());
