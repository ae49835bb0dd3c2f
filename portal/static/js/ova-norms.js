/* Portail OVA norms dashboard: the rate-over-months chart, from JSON data embedded as text. */
(function () {
  "use strict";
  var data = document.getElementById("rate-series");
  var canvas = document.getElementById("rate-chart");
  if (!data || !canvas || typeof Chart === "undefined") { return; }
  var series = JSON.parse(data.textContent);
  var palette = ["#000091", "#b00020", "#1f7a1f", "#a15c00", "#6a1b9a", "#00838f", "#5d4037", "#455a64", "#c2185b", "#33691e"];
  new Chart(canvas, {
    type: "line",
    data: {
      labels: series.labels,
      datasets: series.datasets.map(function (d, i) {
        return { label: d.label, data: d.data.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }),
                 borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], spanGaps: false };
      })
    },
    options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } } }
  });
})();
