// remyfold serve: keeps the job list and a job's status up to date from the JSON API.
// Data from the server is only ever set as textContent (never parsed as HTML).
"use strict";
(function () {
  const ACTIVE = ["queued", "running"];
  const state = { refreshes: 0, errors: 0 };
  window.remyfoldUI = state;

  function formatTimes(root) {
    for (const cell of root.querySelectorAll("td.time[data-time]")) {
      const seconds = parseFloat(cell.dataset.time);
      cell.textContent = isNaN(seconds) ? "" : new Date(seconds * 1000).toLocaleString();
    }
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function jobRow(job, withUser) {
    const row = document.createElement("tr");
    row.dataset.job = job.id;
    row.className = job.state;
    const link = document.createElement("a");
    link.href = "/jobs/" + encodeURIComponent(job.id);
    link.textContent = job.name;
    cell(row, "").appendChild(link);
    if (withUser) cell(row, job.user);
    cell(row, job.state, "state");
    cell(row, job.progress.records_done + "/" + job.progress.records);
    cell(row, String(job.residues));
    cell(row, "", "time").dataset.time = job.created_at;
    return row;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.json();
  }

  async function refreshJobs(table) {
    try {
      const jobs = await getJSON(table.dataset.refresh);
      const withUser = table.querySelectorAll("thead th").length > 5;
      const body = document.createElement("tbody");
      for (const job of jobs) body.appendChild(jobRow(job, withUser));
      if (!jobs.length) {
        const empty = document.createElement("tr");
        empty.className = "empty";
        cell(empty, "No jobs yet.").colSpan = 6;
        body.appendChild(empty);
      }
      formatTimes(body);
      table.replaceChild(body, table.tBodies[0]);
      state.refreshes += 1;
    } catch (err) {
      state.errors += 1;
    }
    setTimeout(() => refreshJobs(table), 2000);
  }

  async function refreshJob(status) {
    try {
      const job = await getJSON("/api/v1/jobs/" + encodeURIComponent(status.dataset.job));
      document.getElementById("state").textContent = job.state;
      document.getElementById("progress").textContent = job.progress.records_done + "/" + job.progress.records;
      state.refreshes += 1;
      if (job.state !== status.dataset.state && !ACTIVE.includes(job.state)) {
        window.location.reload();
        return;
      }
    } catch (err) {
      state.errors += 1;
    }
    setTimeout(() => refreshJob(status), 1000);
  }

  // The report frame (same origin) takes the height of its content, so the page scrolls, not the frame.
  function fitFrame(frame) {
    const fit = () => {
      const doc = frame.contentDocument;
      if (doc && doc.documentElement) frame.style.height = doc.documentElement.scrollHeight + "px";
    };
    const start = () => {
      fit();
      if (window.ResizeObserver && frame.contentDocument) new ResizeObserver(fit).observe(frame.contentDocument.body);
      state.frameFitted = true;
    };
    frame.addEventListener("load", start);
    const doc = frame.contentDocument;
    if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") start();
  }

  document.addEventListener("DOMContentLoaded", () => {
    formatTimes(document);
    const frame = document.getElementById("report");
    if (frame) fitFrame(frame);
    const table = document.getElementById("jobs");
    if (table) setTimeout(() => refreshJobs(table), 2000);
    const status = document.getElementById("status");
    if (status && ACTIVE.includes(status.dataset.state)) setTimeout(() => refreshJob(status), 1000);
  });
})();
