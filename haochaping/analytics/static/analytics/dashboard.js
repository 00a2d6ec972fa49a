/* The dashboard's charts: one fetch of data.json (the same figures as the tables beside them), drawn with the
   vendored ECharts. Without JavaScript the server-rendered tables stand alone. No request leaves this site. */
(function () {
  "use strict";
  var root = document.querySelector(".dashboard[data-url]");
  if (!root || !window.echarts) return;

  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  var BLUE = "#0072B2", GREEN = "#009E73", VERMILLION = "#D55E00", ORANGE = "#E69F00", SKY = "#56B4E9";
  var PALETTE = [BLUE, ORANGE, GREEN, VERMILLION, SKY, "#CC79A7", "#F0E442", "#000000", "#999999"];
  // grades 非常满意 … 非常不满意 (rows come in this order)
  var GRADE_COLOURS = ["#006d4f", GREEN, "#999999", ORANGE, VERMILLION];
  var charts = [];

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  function col(chart, key) {
    for (var i = 0; i < chart.columns.length; i++) if (chart.columns[i].key === key) return i;
    return -1;
  }
  function values(chart, key) {
    var i = col(chart, key);
    return chart.rows.map(function (r) { return r[i]; });
  }
  function ratePoints(chart, key) {
    return values(chart, key).map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; });
  }
  function drill(chart, index) {
    var links = chart.links || [];
    if (links[index]) window.location.assign(links[index]);
  }
  function base() {
    return { color: PALETTE, textStyle: { fontFamily: "inherit" }, animation: false,
             grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
             tooltip: { trigger: "axis", confine: true } };
  }

  function trend(chart) {
    var o = base();
    o.legend = { top: 0 };
    o.xAxis = { type: "category", data: values(chart, "period") };
    o.yAxis = [{ type: "value", name: "", minInterval: 1 },
               { type: "value", max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } }];
    o.series = [
      { name: chart.columns[col(chart, "counted")].label, type: "bar", data: values(chart, "counted"), itemStyle: { color: SKY } },
      { name: chart.columns[col(chart, "good_rate")].label, type: "line", yAxisIndex: 1, data: ratePoints(chart, "good_rate"),
        itemStyle: { color: GREEN }, connectNulls: false },
      { name: chart.columns[col(chart, "bad_rate")].label, type: "line", yAxisIndex: 1, data: ratePoints(chart, "bad_rate"),
        itemStyle: { color: VERMILLION }, lineStyle: { type: "dashed" }, symbol: "triangle" }
    ];
    o.tooltip.valueFormatter = null;
    return o;
  }

  function grades(chart) {
    var o = base();
    o.legend = { top: 0 };
    o.xAxis = { type: "category", data: values(chart, "grade"), axisLabel: { interval: 0, width: 56, overflow: "break" } };
    o.yAxis = { type: "value", minInterval: 1 };
    var active = values(chart, "active").map(function (v, i) { return { value: v, itemStyle: { color: GRADE_COLOURS[i] } }; });
    o.series = [
      { name: chart.columns[col(chart, "active")].label, type: "bar", stack: "g", data: active },
      { name: chart.columns[col(chart, "defaults")].label, type: "bar", stack: "g", data: values(chart, "defaults"),
        itemStyle: { color: "#cccccc", decal: { symbol: "rect", dashArrayX: [1, 0], dashArrayY: [2, 3], rotation: 0.7 } } }
    ];
    return o;
  }

  function pie(chart) {
    var o = base();
    o.tooltip = { trigger: "item", confine: true, formatter: "{b}：{c}（{d}%）" };
    o.legend = { type: "scroll", bottom: 0 };
    var labels = chart.rows.map(function (r) { return r[0]; });
    o.series = [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"], avoidLabelOverlap: true,
      label: { formatter: "{b}\n{d}%" },
      data: values(chart, "counted").map(function (v, i) { return { name: labels[i], value: v }; }) }];
    return o;
  }

  function hbar(chart) {
    var o = base();
    o.grid.right = 90;
    var names = chart.rows.map(function (r) { return r[0]; });
    var good = values(chart, "good_rate");
    o.xAxis = { type: "value", minInterval: 1 };
    o.yAxis = { type: "category", data: names, inverse: true,
                axisLabel: { width: 110, overflow: "truncate" }, triggerEvent: true };
    o.tooltip.formatter = function (ps) {
      var p = ps[0];
      return p.name + "<br>" + chart.columns[col(chart, "counted")].label + "：" + p.value +
        "<br>" + chart.columns[col(chart, "good_rate")].label + "：" + pct(good[p.dataIndex]);
    };
    o.series = [{ type: "bar", barMaxWidth: 28, data: values(chart, "counted"), itemStyle: { color: BLUE }, cursor: chart.links ? "pointer" : "default",
      label: { show: true, position: "right", formatter: function (p) { return p.value + " · " + pct(good[p.dataIndex]); } } }];
    return o;
  }

  // 差评率 → colour, light (low) to dark vermillion (high), scaled to the highest rate shown; computed here
  // rather than by ECharts' visual mapping so that the colours do not depend on the number of regions.
  var RAMP = [[254, 232, 210], [245, 158, 91], [213, 94, 0], [127, 39, 4]];
  function rampColour(t) {
    t = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
    var i = Math.min(Math.floor(t), RAMP.length - 2), f = t - i, a = RAMP[i], b = RAMP[i + 1];
    return "rgb(" + a.map(function (v, k) { return Math.round(v + (b[k] - v) * f); }).join(",") + ")";
  }

  function treemap(chart) {
    var bad = values(chart, "bad_rate"), counted = values(chart, "counted");
    // the darkest shade is the highest rate shown, but never below 10%: low rates stay light
    var max = Math.max.apply(null, bad.map(function (v) { return v || 0; }).concat([0.1]));
    return {
      animation: false,
      tooltip: { confine: true, formatter: function (p) {
        return p.name + "<br>" + chart.columns[col(chart, "counted")].label + "：" + p.value[0] +
          "<br>" + chart.columns[col(chart, "bad_rate")].label + "：" + pct(p.value[1]); } },
      series: [{ type: "treemap", roam: false, nodeClick: false, breadcrumb: { show: false },
        width: "100%", height: "100%", top: 0, left: 0,
        // white text with a dark outline: readable on every shade of the ramp
        label: { show: true, color: "#fff", textBorderColor: "#000", textBorderWidth: 2, fontSize: 14, fontWeight: "bold",
                 formatter: function (p) { return p.name + "\n" + pct(p.value[1]); } },
        data: chart.rows.map(function (r, i) {
          var t = (bad[i] || 0) / max;
          return { name: r[0], value: [counted[i], bad[i]], link: (chart.links || [])[i],
                   itemStyle: { color: rampColour(t), borderColor: "#fff", borderWidth: 2 } };
        }).filter(function (d) { return d.value[0] > 0; }) }]
    };
  }

  function cases(chart) {
    var o = base();
    o.legend = { top: 0 };
    o.xAxis = { type: "category", data: values(chart, "state"), axisLabel: { interval: 0, width: 60, overflow: "break" } };
    o.yAxis = { type: "value", minInterval: 1 };
    o.series = [
      { name: chart.columns[col(chart, "open")].label, type: "bar", data: values(chart, "open"), itemStyle: { color: BLUE } },
      { name: chart.columns[col(chart, "overdue")].label, type: "bar", data: values(chart, "overdue"), itemStyle: { color: VERMILLION } }
    ];
    return o;
  }

  function offers(chart) {
    var o = base();
    o.legend = { top: 0 };
    var conversion = values(chart, "conversion");
    o.xAxis = { type: "category", data: values(chart, "channel"), axisLabel: { interval: 0, width: 64, overflow: "break" } };
    o.yAxis = { type: "value", minInterval: 1 };
    o.series = [
      { name: chart.columns[col(chart, "offers")].label, type: "bar", data: values(chart, "offers"), itemStyle: { color: SKY } },
      { name: chart.columns[col(chart, "rated")].label, type: "bar", data: values(chart, "rated"), itemStyle: { color: BLUE },
        label: { show: true, position: "top", formatter: function (p) { return pct(conversion[p.dataIndex]); } } }
    ];
    return o;
  }

  var BUILD = { trend: trend, grades: grades, pie: pie, bar: hbar, regions: hbar, cases: cases, offers: offers };

  function draw(section, chart) {
    var box = section.querySelector('[data-box="main"]');
    if (!box || !BUILD[chart.kind]) return;
    if (chart.kind === "bar" || chart.kind === "regions") {
      box.style.height = Math.max(220, chart.rows.length * 30 + 60) + "px";
    }
    var main = echarts.init(box, null, { renderer: "canvas" });
    main.setOption(BUILD[chart.kind](chart));
    main.on("click", function (p) {
      if (p.componentType === "series" || p.componentType === "yAxis") {
        var index = p.componentType === "yAxis" ? chart.rows.map(function (r) { return r[0]; }).indexOf(p.value) : p.dataIndex;
        if (chart.kind === "bar" || chart.kind === "regions") drill(chart, index);
      }
    });
    charts.push(main);
    var tm = section.querySelector('[data-box="treemap"]');
    if (tm) {
      var t = echarts.init(tm, null, { renderer: "canvas" });
      t.setOption(treemap(chart));
      t.on("click", function (p) { if (p.data && p.data.link) window.location.assign(p.data.link); });
      charts.push(t);
    }
  }

  fetch(root.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      document.querySelectorAll(".dash-card[data-chart]").forEach(function (section) {
        var chart = data.charts[section.getAttribute("data-chart")];
        if (chart) draw(section, chart);
      });
      root.classList.add("dash-ready");
    })
    .catch(function () { root.classList.add("dash-failed"); });

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });
})();
