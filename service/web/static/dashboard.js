"use strict";
const NAMES = JSON.parse(document.getElementById("label-names").textContent);
// Largest first, each label under its Chinese name.
const sorted = obj => Object.entries(obj).sort((a, b) => b[1] - a[1]).map(([k, v]) => [NAMES[k] ?? k, v]);
const pct = v => `${(v * 100).toFixed(1)}%`;

async function getJSON(url) {
  const response = await fetch(url, {credentials: "same-origin"});
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function load() {
  const since = new Date(Date.now() - 30 * 86400e3).toISOString();
  const stats = await getJSON(`/v1/stats?since=${encodeURIComponent(since)}`);
  document.getElementById("window").textContent = "近 30 天";
  document.getElementById("total").textContent = stats.total;
  document.getElementById("overdue").textContent = stats.overdue;
  document.getElementById("duplicate-rate").textContent = pct(stats.duplicate_rate);
  columnChart(document.getElementById("chart-trend"), stats.trend.map(p => [p.period, p.cases]));
  barChart(document.getElementById("chart-department"), sorted(stats.by_department));
  barChart(document.getElementById("chart-type"), sorted(stats.by_type));
  barChart(document.getElementById("chart-risk"), sorted(stats.by_risk));
  barChart(document.getElementById("chart-misroute"), sorted(stats.misroute_rate_by_department), pct);
  const hot = await getJSON(`/v1/hot-issues?since=${encodeURIComponent(since)}`);
  const list = document.getElementById("hot-issues");
  list.replaceChildren();
  if (!hot.items.length) list.innerHTML = '<li class="muted">暂无热点问题</li>';
  for (const issue of hot.items) {
    const li = document.createElement("li");
    li.textContent = `${issue.title}（${NAMES[issue.department] ?? issue.department ?? "未定"}）：${issue.cases} 件，${issue.submitters} 人，趋势 ${issue.trend}`;
    list.append(li);
  }
  document.body.dataset.loaded = "true";
}

load().catch(error => {
  document.body.dataset.loaded = "error";
  const p = document.createElement("p");
  p.className = "error"; p.textContent = `加载失败：${error.message}`;
  document.querySelector("main").prepend(p);
});
