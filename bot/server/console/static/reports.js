// Draws the reports page's charts from the JSON the server rendered into #report-data (no inline
// script: the console's Content-Security-Policy allows scripts from this site only).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const palette = ["#2563eb", "#16a34a", "#dc2626", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569"];
  const sentimentColours = { positive: "#16a34a", neutral: "#94a3b8", negative: "#dc2626", unclassified: "#cbd5e1" };
  // Drawn at once: screenshots and tests see the finished chart, and nobody waits for an animation.
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = "system-ui, sans-serif";

  const colour = (i) => palette[i % palette.length];
  const series = (byKey, colours) =>
    Object.entries(byKey).map(([label, values], i) => ({
      label,
      data: values,
      borderColor: (colours && colours[label]) || colour(i),
      backgroundColor: (colours && colours[label]) || colour(i),
    }));
  const keyed = (obj, order) => {
    const keys = order ? order.filter((k) => k in obj).concat(Object.keys(obj).filter((k) => !order.includes(k))) : Object.keys(obj);
    return { labels: keys, values: keys.map((k) => obj[k]) };
  };
  const per = data.messages.per_day;
  const tiers = keyed(data.customers.by_tier, data.customers.tiers);
  const intents = keyed(data.messages.by_intent);
  const stages = keyed(data.customers.by_stage);
  const backlog = keyed(data.escalations.backlog_by_age, data.escalations.backlog_order);
  const csat = keyed(data.csat.distribution);
  const pct = (v) => (v === null ? 0 : Math.round(v * 1000) / 10);

  const configs = {
    messages: {
      type: "bar",
      data: { labels: per.dates, datasets: series(per.by_channel) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    },
    sentiment: {
      type: "line",
      data: { labels: per.dates, datasets: series(per.by_sentiment, sentimentColours) },
      options: { scales: { y: { beginAtZero: true } } },
    },
    intents: {
      type: "doughnut",
      data: { labels: intents.labels, datasets: [{ data: intents.values, backgroundColor: intents.labels.map((_, i) => colour(i)) }] },
    },
    times: {
      type: "bar",
      data: {
        labels: ["first response", "resolution"],
        datasets: [
          { label: "p50", data: [data.first_response_minutes.p50, data.resolution_minutes.p50], backgroundColor: colour(0) },
          { label: "p90", data: [data.first_response_minutes.p90, data.resolution_minutes.p90], backgroundColor: colour(3) },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    },
    sla: {
      type: "bar",
      data: {
        labels: ["first response", "resolution"],
        datasets: [{ label: "% within target", data: [pct(data.sla.first_response_met), pct(data.sla.resolution_met)], backgroundColor: colour(1) }],
      },
      options: { scales: { y: { beginAtZero: true, max: 100 } } },
    },
    csat: {
      type: "bar",
      data: { labels: csat.labels, datasets: [{ label: "answers", data: csat.values, backgroundColor: colour(4) }] },
      options: { scales: { y: { beginAtZero: true } } },
    },
    backlog: {
      type: "bar",
      data: { labels: backlog.labels, datasets: [{ label: "open cases", data: backlog.values, backgroundColor: colour(2) }] },
      options: { scales: { y: { beginAtZero: true } } },
    },
    pyramid: {
      type: "bar",
      data: {
        labels: tiers.labels,
        datasets: [
          { label: "customers", data: tiers.values, backgroundColor: colour(0), xAxisID: "x" },
          { label: "value (" + data.currency + ")", data: tiers.labels.map((t) => data.customers.value_by_tier[t] || 0), backgroundColor: colour(3), xAxisID: "value" },
        ],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, position: "bottom" }, value: { beginAtZero: true, position: "top", grid: { drawOnChartArea: false } } } },
    },
    stages: {
      type: "bar",
      data: { labels: stages.labels, datasets: [{ label: "customers", data: stages.values, backgroundColor: colour(5) }] },
      options: { scales: { y: { beginAtZero: true } } },
    },
    topics: {
      type: "bar",
      data: {
        labels: data.topics.map((t) => t.label),
        datasets: [
          { label: "week before", data: data.topics.map((t) => t.previous), backgroundColor: "#94a3b8" },
          { label: "this week", data: data.topics.map((t) => t.recent), backgroundColor: colour(2) },
        ],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true } } },
    },
  };

  window.rapportCharts = {};
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const name = canvas.dataset.chart;
    window.rapportCharts[name] = new Chart(canvas, configs[name]);
  }
})();
