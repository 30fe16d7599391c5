/* Draw every chart of the page: each container names the <script type="application/json"> that
   holds its ECharts option (built on the server, see battrace/web/charts.py). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var charts = [];
  var nodes = document.querySelectorAll("[data-chart]");
  for (var i = 0; i < nodes.length; i++) {
    var el = nodes[i];
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) { continue; }
    var option;
    try { option = JSON.parse(source.textContent); } catch (e) { continue; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    el.setAttribute("data-ready", "1");
    charts.push(chart);
  }
  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 120);
  });
  document.documentElement.setAttribute("data-charts", String(charts.length));
})();
