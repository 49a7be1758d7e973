/* Upload page: drop files on the zone (or choose them), then each file goes up in its own
 * request with its own progress bar, and its own outcome: uploaded (a link to the take) or
 * refused with the server's reason. Two at a time, so one big file does not hold up the rest.
 * Without JavaScript the form posts every file at once and the page answers as before.
 */
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const summary = document.getElementById("upload-summary");
  const PARALLEL = 2;

  function rows() {
    list.replaceChildren();
    return Array.from(input.files, (file, index) => {
      const li = document.createElement("li");
      li.className = "upload-row";
      li.dataset.index = index;
      li.dataset.state = "waiting";
      const name = document.createElement("span");
      name.className = "upload-name";
      const size = file.size >= 1048576 ? `${(file.size / 1048576).toFixed(1)} MB` : `${Math.ceil(file.size / 1024)} KB`;
      name.textContent = `${file.name} (${size})`;
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      const status = document.createElement("span");
      status.className = "upload-status muted";
      status.textContent = "waiting";
      li.append(name, bar, status);
      list.append(li);
      return { file, li, bar, status };
    });
  }

  input.addEventListener("change", rows);

  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    rows();
  });

  function finish(row, state, text, url) {
    row.li.dataset.state = state;
    row.status.className = `upload-status ${state}`;
    row.status.replaceChildren();
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = text;
      row.status.append(link);
    } else {
      row.status.textContent = text;
    }
  }

  function send(row) {
    return new Promise((resolve) => {
      const data = new FormData(form);
      data.delete("files");
      data.append("files", row.file);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      row.li.dataset.state = "sending";
      row.status.textContent = "0%";
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.round((100 * event.loaded) / event.total);
        row.bar.value = percent;
        row.status.textContent = `${percent}%`;
      });
      xhr.addEventListener("load", () => {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {}; }
        row.bar.value = 100;
        const take = (answer.created || [])[0];
        if (xhr.status < 400 && take) {
          finish(row, "done", `uploaded: ${take.external_id}`, take.url);
        } else {
          const reasons = [...(answer.rejected || []), ...(answer.errors || [])];
          finish(row, "refused", reasons.join(" ") || `refused (${xhr.status})`);
        }
        resolve();
      });
      xhr.addEventListener("error", () => { finish(row, "refused", "network error: try again"); resolve(); });
      xhr.send(data);
    });
  }

  form.addEventListener("submit", async (event) => {
    if (!input.files.length) return; // the browser's own "choose a file"
    event.preventDefault();
    const queue = rows();
    const button = document.getElementById("upload-button");
    button.disabled = true;
    summary.textContent = "";
    const pending = queue.slice();
    const workers = Array.from({ length: Math.min(PARALLEL, pending.length) }, async () => {
      while (pending.length) await send(pending.shift());
    });
    await Promise.all(workers);
    button.disabled = false;
    const done = queue.filter((r) => r.li.dataset.state === "done").length;
    summary.textContent = `${done} of ${queue.length} uploaded.`;
    if (done) {
      const link = document.createElement("a");
      link.href = form.dataset.doneUrl;
      link.id = "upload-done";
      link.textContent = " Back to the version";
      summary.append(link);
    }
  });
})();
