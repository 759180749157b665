// hz3-report: draws the report's charts from the data in <script id="hz3-report-data"> with uPlot
// (inlined before this script). No network. Every time chart shares one x axis, seconds since the
// recording started, from its start to its end, and one cursor (uPlot's cursor sync); byte axes
// tick at round binary values (byteTicks). window.hz3Charts maps each chart's id to its uPlot, so
// that the report's test can read scales and ticks back; any error is written into #hz3-errors.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var errors = document.getElementById('hz3-errors');
  function fail(msg) { if (errors) { errors.textContent += msg + '\n'; } }
  window.addEventListener('error', function (e) { fail('error: ' + e.message); });

  var BUCKET_COLORS = ['#b8bec9', '#c8372d', '#e8833a', '#e9c46a', '#2e8540'];
  var LINE_COLORS = ['#2c6fbb', '#c8372d', '#2e8540', '#8e5cc2', '#e8833a', '#5c6577', '#0f8b8d'];
  var AXIS_FONT = '11px system-ui, "DejaVu Sans", sans-serif';
  var TITLE_FONT = 'bold 11px system-ui, "DejaVu Sans", sans-serif';
  var W = 640, H = 240;
  // Time steps of 1, 2 or 5 times a power of ten seconds: labels with no more digits than needed.
  var TIME_INCRS = [];
  for (var e10 = -3; e10 <= 6; e10++) {
    [1, 2, 5].forEach(function (m) { TIME_INCRS.push(+(m * Math.pow(10, e10)).toFixed(Math.max(0, -e10))); });
  }
  var charts = {};
  window.hz3Charts = charts;

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function div(cls, parent, text) {
    var d = document.createElement('div');
    d.className = cls;
    if (text !== undefined) { d.textContent = text; }
    if (parent) { parent.appendChild(d); }
    return d;
  }
  function fmtCount(n) { return n == null ? '-' : Math.round(n).toLocaleString('en-US'); }
  function fmtBytes(n) {
    if (n == null) { return '-'; }
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    var v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }

  // Byte ticks: a step of 2^k bytes (shown as 1, 2, 4, ... B, KiB, MiB, GiB or TiB), the smallest
  // that reaches max in at most 5 steps, so 4 to 6 ticks from 0 to a round top.
  var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  function byteStep(max) {
    var step = 1;
    while (Math.ceil(max / step) > 5) { step *= 2; }
    return step;
  }
  function byteTop(max) {
    if (!(max > 0)) { max = 1024; }
    var step = byteStep(max);
    return Math.max(2, Math.ceil(max / step)) * step;
  }
  function byteTicks(top) {
    var step = byteStep(top);
    var ticks = [];
    for (var v = 0; v <= top + step / 2; v += step) { ticks.push(v); }
    return ticks;
  }
  function byteLabels(ticks) {
    var step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
    var u = 0;
    while (u < UNITS.length - 1 && step >= Math.pow(1024, u + 1)) { u++; }
    var div = Math.pow(1024, u);
    return ticks.map(function (v) { return (v / div) + ' ' + UNITS[u]; });
  }

  // The y axis is as wide as its widest tick label, so no label is cut.
  var measure = document.createElement('canvas').getContext('2d');
  function axisSize(self, values, axisIdx, cycleNum) {
    var axis = self.axes[axisIdx];
    if (cycleNum > 1) { return axis._size; }
    measure.font = AXIS_FONT;
    var widest = 0;
    (values || []).forEach(function (v) { widest = Math.max(widest, measure.measureText(String(v)).width); });
    return Math.ceil(widest + axis.ticks.size + axis.gap + 22);
  }

  var DATA;
  var T0, DUR;
  function secs(ms) { return (ms - T0) / 1000; }

  // spec = {id, box, title, yTitle, bytes, stacked, series: [{name, key, t: [ms], values, color,
  // mark: [bool]}], marks: [{name, t, values}] (hollow points: inconsistent snapshots)}
  function timeChart(spec) {
    var series = spec.series.filter(function (s) { return s.values.length > 0; });
    var tables = series.map(function (s) {
      return [s.t.map(secs), s.values.map(function (v, i) { return s.skip && s.skip[i] ? null : v; })];
    });
    var stackAt = spec.stacked ? series.length : 0;
    if (spec.over) {
      spec.over.filter(function (s) { return s.values.length > 0; }).forEach(function (s) {
        series.push(s);
        tables.push([s.t.map(secs), s.values.slice()]);
      });
    }
    (spec.marks || []).forEach(function (mk) {
      if (mk.values.length === 0) { return; }
      series.push({ name: mk.name, key: mk.key, mark: true, color: '#1d2330', values: mk.values });
      tables.push([mk.t.map(secs), mk.values]);
    });
    if (series.length === 0) { return null; }
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var raw = data.slice(1).map(function (col) { return col.slice(); });
    if (stackAt > 0) {
      // Stacked: each band is drawn from 0 to the sum of it and those below, topmost first, so
      // the lower ones paint over; the legend and cursor show each part's own value.
      var n = data[0].length;
      for (var i = 0; i < n; i++) {
        var sum = 0;
        for (var s = 0; s < stackAt; s++) {
          var v = data[s + 1][i];
          if (v != null) { sum += v; data[s + 1][i] = sum; }
        }
      }
    }
    var yMax = 0;
    data.slice(1).forEach(function (col) { col.forEach(function (v) { if (v != null && v > yMax) { yMax = v; } }); });
    var order = [];
    for (var o = stackAt - 1; o >= 0; o--) { order.push(o); }
    for (var p = stackAt; p < series.length; p++) { order.push(p); }
    var fmt = spec.bytes ? fmtBytes : fmtCount;
    var uSeries = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(1) + ' s'; } }];
    var uData = [data[0]];
    order.forEach(function (si) {
      var s = series[si];
      var rawCol = raw[si];
      var stackedBand = si < stackAt;
      var o = {
        label: s.name,
        stroke: s.mark ? '#1d2330' : s.color,
        width: s.mark ? 0 : (stackedBand ? 1 : 2),
        spanGaps: true,
        value: function (u, v, sidx, idx) { return idx == null ? '-' : fmt(rawCol[idx]); },
        points: s.mark ? { show: true, size: 9, width: 2, fill: '#ffffff', stroke: '#1d2330' } : { show: false, size: 4 }
      };
      if (s.mark) { o.paths = function () { return null; }; }
      if (stackedBand) {
        o.fill = s.color;
        // A band of one sample has no area: show its top as a point.
        o.points = { show: function (u, sidx) { return u.data[sidx].filter(function (x) { return x != null; }).length <= 1; },
          size: 8, fill: s.color };
      }
      if (!stackedBand && !s.mark) {
        // Lines with few points still show each point.
        o.points = { show: function (u, sidx) { return u.data[sidx].filter(function (x) { return x != null; }).length <= 60; },
          size: 5, fill: s.color };
      }
      uSeries.push(o);
      uData.push(data[si + 1]);
    });
    var box = div('chart', spec.box);
    box.setAttribute('data-chart', spec.id);
    div('title', box, spec.title);
    var yAxis = { label: spec.yTitle, labelFont: TITLE_FONT, font: AXIS_FONT, labelSize: 16, size: axisSize,
      stroke: '#5c6577', grid: { stroke: '#eceef2' } };
    if (spec.bytes) {
      yAxis.splits = function (u, ai, min, max) { return byteTicks(max); };
      yAxis.values = function (u, splits) { return byteLabels(splits); };
    } else {
      yAxis.values = function (u, splits) { return splits.map(fmtCount); };
    }
    var opts = {
      width: W, height: H,
      // Right padding: half the widest time label, so the last one is not cut.
      padding: [10, 28, 0, 0],
      // No drag-zoom: every chart keeps the recording's whole time range.
      cursor: { sync: { key: 'hz3', setSeries: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: false, range: function () { return [0, DUR]; } },
        y: { range: spec.bytes ? function () { return [0, byteTop(yMax)]; }
          : function () { return [0, yMax > 0 ? yMax * 1.05 : 1]; } }
      },
      axes: [
        { label: 'seconds since the recording started', labelFont: TITLE_FONT, font: AXIS_FONT, labelSize: 16,
          stroke: '#5c6577', grid: { stroke: '#eceef2' },
          incrs: TIME_INCRS,
          values: function (u, splits) {
            var step = splits.length > 1 ? splits[1] - splits[0] : 1;
            var dec = 0;
            while (dec < 4 && Math.abs(Math.round(step * Math.pow(10, dec)) - step * Math.pow(10, dec)) > 1e-6) { dec++; }
            return splits.map(function (v) { return v.toFixed(dec) + ' s'; });
          } },
        yAxis
      ],
      series: uSeries
    };
    var u = new uPlot(opts, uData, box);
    u.root.setAttribute('data-y-title', spec.yTitle);
    series.forEach(function (s) {
      var d = document.createElement('span');
      d.hidden = true;
      d.setAttribute('data-series', s.key);
      d.setAttribute('data-points', s.values.filter(function (v, i) { return v != null && !(s.skip && s.skip[i]); }).length);
      box.appendChild(d);
    });
    charts[spec.id] = u;
    return u;
  }

  function notOf(flags) { return (flags || []).map(function (c) { return !c; }); }
  function marksAt(flags, t, values) {
    var mt = [], mv = [];
    (flags || []).forEach(function (c, i) { if (!c) { mt.push(t[i]); mv.push(values[i]); } });
    return { t: mt, values: mv };
  }

  // Horizontal stacked bars: one bar per size class, split by occupancy bucket (not a time chart).
  function classBars(container, rows) {
    var box = div('chart', container);
    box.setAttribute('data-chart', 'classes');
    div('title', box, 'Partial size classes: pages by occupancy');
    var l = div('legend', box);
    DATA.bucketLabels.forEach(function (name, i) {
      var span = document.createElement('span');
      var sw = document.createElement('i');
      sw.style.background = BUCKET_COLORS[i];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(name));
      l.appendChild(span);
    });
    var rowH = 22, L = 170, R = 70, CW = 760;
    var CH = rows.length * rowH + 24;
    var svg = el('svg', { width: CW, height: CH, viewBox: '0 0 ' + CW + ' ' + CH, role: 'img' }, box);
    var max = 1;
    rows.forEach(function (r) {
      var sum = 0;
      DATA.buckets.forEach(function (b) { sum += r[b]; });
      max = Math.max(max, sum);
    });
    rows.forEach(function (r, ri) {
      var y = 4 + ri * rowH;
      el('text', { x: L - 6, y: y + 14, 'text-anchor': 'end' }, svg).textContent =
        'class ' + r.sizeClass + ' (' + fmtBytes(r.objectSize) + ', ' + r.tier + ')';
      var x = L;
      DATA.buckets.forEach(function (b, bi) {
        var w = r[b] / max * (CW - L - R);
        el('rect', { x: x, y: y + 2, width: Math.max(0, w), height: rowH - 6, fill: BUCKET_COLORS[bi],
          'data-series': 'class' + r.sizeClass + '.' + b, 'data-value': r[b] }, svg)
          .appendChild(document.createElementNS(SVG, 'title')).textContent =
          'class ' + r.sizeClass + ' ' + DATA.bucketLabels[bi] + ': ' + fmtCount(r[b]) + ' pages';
        x += w;
      });
      el('text', { x: x + 4, y: y + 14 }, svg).textContent = fmtCount(r.pagesPartial) + ' partial';
    });
  }

  try {
    DATA = JSON.parse(document.getElementById('hz3-report-data').textContent);
    T0 = DATA.recording.startMs;
    DUR = Math.max(0.001, (DATA.recording.endMs - DATA.recording.startMs) / 1000);
    var INCONSISTENT = 'inconsistent snapshot (not trusted)';

    var sitesBox = document.getElementById('chart-sites');
    if (sitesBox && DATA.sites.length > 0) {
      timeChart({ id: 'sites', box: sitesBox, title: 'Live native bytes per Java call site (estimated)',
        yTitle: 'bytes', bytes: true, series: DATA.sites.map(function (s, i) {
          return { name: s.name, key: 'site.' + i, t: s.t, values: s.live, color: LINE_COLORS[i % LINE_COLORS.length] };
        }) });
    }

    var tierBox = document.getElementById('chart-tiers');
    if (tierBox) {
      DATA.tiers.forEach(function (tier) {
        var resident = 0;
        DATA.buckets.forEach(function (b) { tier[b].forEach(function (v) { resident += v; }); });
        if (resident === 0) { return; }
        var skip = notOf(tier.consistent);
        var totals = tier.t.map(function (x, i) {
          var sum = 0;
          DATA.buckets.forEach(function (b) { sum += tier[b][i]; });
          return sum;
        });
        var mk = marksAt(tier.consistent, tier.t, totals);
        timeChart({ id: 'tier-' + tier.tier, box: tierBox, title: tier.tier + ' tier: resident pages by occupancy',
          yTitle: 'pages (4 KiB)', stacked: true,
          series: DATA.buckets.map(function (b, i) {
            return { name: DATA.bucketLabels[i], key: tier.tier + '.' + b, t: tier.t, values: tier[b], skip: skip,
              color: BUCKET_COLORS[i] };
          }),
          marks: [{ name: INCONSISTENT, key: tier.tier + '.inconsistent', t: mk.t, values: mk.values }] });
      });
    }

    var classBox = document.getElementById('chart-classes');
    if (classBox && DATA.classes.length > 0) { classBars(classBox, DATA.classes); }

    var reclaimBox = document.getElementById('chart-reclaim');
    if (reclaimBox) {
      var rc = DATA.reclaim;
      var rskip = notOf(rc.consistent);
      var m1 = marksAt(rc.consistent, rc.t, rc.candidateBytes);
      var m2 = marksAt(rc.consistent, rc.t, rc.hz3ResidentBytes);
      var made = timeChart({ id: 'reclaim', box: reclaimBox, title: 'Reclaim candidates against RSS', yTitle: 'bytes',
        bytes: true, series: [
          { name: 'decommit candidates', key: 'reclaim.candidateBytes', t: rc.t, values: rc.candidateBytes, skip: rskip, color: LINE_COLORS[1] },
          { name: 'hz3 resident', key: 'reclaim.hz3ResidentBytes', t: rc.t, values: rc.hz3ResidentBytes, skip: rskip, color: LINE_COLORS[0] },
          { name: 'process RSS', key: 'rss.rss', t: DATA.rss.t, values: DATA.rss.rss, color: LINE_COLORS[5] }
        ], marks: [{ name: 'inconsistent: decommit candidates', key: 'reclaim.candidateBytes.inconsistent', t: m1.t, values: m1.values },
          { name: 'inconsistent: hz3 resident', key: 'reclaim.hz3ResidentBytes.inconsistent', t: m2.t, values: m2.values }] });
      if (!made) { div('empty', reclaimBox, 'No census and no process-memory samples.'); }
    }

    var procBox = document.getElementById('chart-process');
    if (procBox) {
      var parts = DATA.processParts.map(function (p, i) {
        return { name: DATA.processLabels[i], key: 'process.' + p, t: DATA.process.t, values: DATA.process[p], color: LINE_COLORS[i] };
      }).filter(function (s) { return !(DATA.glibcMode && s.key === 'process.hz3'); });
      var over = [{ name: 'RSS', key: 'process.rss', t: DATA.rss.t, values: DATA.rss.rss, color: '#1d2330' },
        { name: 'container usage', key: 'container.usage', t: DATA.container.t, values: DATA.container.usage, color: LINE_COLORS[6] }];
      if (DATA.container.limit > 0 && DATA.container.t.length > 0) {
        over.push({ name: 'container limit', key: 'container.limit', t: DATA.container.t,
          values: DATA.container.t.map(function () { return DATA.container.limit; }), color: '#c8372d' });
      }
      timeChart({ id: 'process', box: procBox, title: 'Resident memory of the process', yTitle: 'bytes', bytes: true,
        stacked: true, series: parts, over: over });
    }

    var nmtBox = document.getElementById('chart-nmt');
    if (nmtBox) {
      var ns = [{ name: 'total committed', key: 'nmt.total', t: DATA.nmt.t, values: DATA.nmt.committed, color: '#1d2330' }];
      DATA.nmt.types.forEach(function (ty, i) {
        ns.push({ name: ty.type, key: 'nmt.' + ty.type, t: ty.t, values: ty.committed, color: LINE_COLORS[i % LINE_COLORS.length] });
      });
      timeChart({ id: 'nmt', box: nmtBox, title: 'JVM native memory, committed (NMT)', yTitle: 'bytes', bytes: true, series: ns });
    }

    var glibcBox = document.getElementById('chart-glibc');
    if (glibcBox && DATA.glibc && DATA.glibc.t.length > 0) {
      timeChart({ id: 'glibc', box: glibcBox, title: 'glibc heap', yTitle: 'bytes', bytes: true, series: [
        { name: 'in use', key: 'glibc.inUseBytes', t: DATA.glibc.t, values: DATA.glibc.inUseBytes, color: LINE_COLORS[0] },
        { name: 'free (kept)', key: 'glibc.freeBytes', t: DATA.glibc.t, values: DATA.glibc.freeBytes, color: LINE_COLORS[1] }
      ] });
    }
    document.body.setAttribute('data-rendered', 'true');
  } catch (e) {
    fail('report.js: ' + (e && e.stack ? e.stack : e));
  }
})();
