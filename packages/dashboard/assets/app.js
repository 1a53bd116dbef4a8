// The dashboard page. Everything that comes from the store is put into the page as text
// (textContent, attribute values), never parsed as HTML.

(() => {
  const base = new URL(document.baseURI).pathname;
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const sessionBox = document.getElementById('session');
  const charts = [];
  let session = { actionsEnabled: false, signedIn: false, actor: null, csrf: null };
  let updates = 0;
  let lastOutcome = null;
  /** Thrown to drop a render that would take an open confirmation out of the page. */
  const DEFERRED = new Error('deferred');
  let loading = false;
  let again = false;
  /** The first sign-in state, read alongside the first page data rather than before it. */
  let sessionLoaded = Promise.resolve();

  /** An element with attributes and children; strings become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'text') el.textContent = String(value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(
        typeof child === 'string' || typeof child === 'number'
          ? document.createTextNode(String(child))
          : child,
      );
    }
    return el;
  }

  const pad = (n) => String(n).padStart(2, '0');
  /** `2026-01-05 12:00 UTC`: one time zone for everyone reading the page together. */
  function when(ms) {
    if (ms === null || ms === undefined) return '-';
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  }
  const pct = (rate) => (rate === null || rate === undefined ? '-' : `${(rate * 100).toFixed(2)} %`);
  const points = (p) =>
    `${Number(p)
      .toFixed(2)
      .replace(/\.?0+$/, '')} %`;
  const ms = (v) =>
    v === null || v === undefined ? '-' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
  const healthBadge = (level) =>
    h('span', { class: `badge ${level}` }, level === 'no-data' ? 'no data' : level);

  /** A table that becomes one card per row on narrow screens (cells labelled by their column). */
  function dataTable(attrs, headers, rows, caption) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'cards', ...attrs },
        caption === undefined ? null : h('caption', { class: 'muted' }, caption),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            headers.map(([label, cls]) => h('th', { scope: 'col', class: cls }, label)),
          ),
        ),
        h('tbody', {}, rows),
      ),
    );
  }

  async function api(path, init) {
    const res = await fetch(path, { credentials: 'same-origin', ...init });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = { error: `HTTP ${res.status}` };
    }
    if (!res.ok) {
      const error = new Error(body?.error ? body.error : `HTTP ${res.status}`);
      error.status = res.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  function post(path, body) {
    const headers = { 'content-type': 'application/json' };
    if (session.csrf) headers['x-csrf-token'] = session.csrf;
    return api(path, { method: 'POST', headers, body: JSON.stringify(body || {}) });
  }

  // ---------------------------------------------------------------- routing

  function page() {
    const rel = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
    if (rel === 'history') return { kind: 'history' };
    const m = /^features\/([^/]+)$/.exec(rel);
    if (m) return { kind: 'feature', name: decodeURIComponent(m[1]) };
    return { kind: 'overview' };
  }

  function featureHref(name) {
    return `features/${encodeURIComponent(name)}`;
  }

  async function load() {
    // Not under an open confirmation: it would be taken out of the page; its close reloads.
    if (document.querySelector('dialog[open]')) return;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const where = page();
      for (const a of document.querySelectorAll('[data-nav]')) {
        if (a.dataset.nav === where.kind) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      }
      if (where.kind === 'overview') await showOverview();
      else if (where.kind === 'feature') await showFeature(where.name);
      else await showHistory();
      updates++;
      main.dataset.updates = String(updates);
    } catch (error) {
      if (error !== DEFERRED) showError(error);
    } finally {
      main.setAttribute('aria-busy', 'false');
      loading = false;
      if (again) {
        again = false;
        void load();
      }
    }
  }

  function showError(error) {
    const box = main.querySelector('.load-error') || h('p', { class: 'error load-error', role: 'alert' });
    box.textContent = `Could not load: ${error.message}. Showing the last data.`;
    if (!box.isConnected) main.prepend(box);
  }

  /** Replaces the page content, keeping the focused control focused where it still exists. */
  function replace(nodes) {
    // An operator is answering a confirmation: its close reloads.
    if (document.querySelector('dialog[open]')) throw DEFERRED;
    const focused = document.activeElement?.id;
    for (const chart of charts.splice(0)) chart.destroy();
    sparkObserver.disconnect();
    main.replaceChildren(...nodes);
    if (focused) {
      const again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  // ---------------------------------------------------------------- charts

  function utc(ts) {
    return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
  }

  function chartWidth(container) {
    return Math.max(240, Math.floor(container.getBoundingClientRect().width) - 4);
  }

  /**
   * A time series chart: `lines` are [label, values, colour, options]; `markers` sit above it.
   * `opts.width` is measured by the caller, for all charts before any is built: measuring each
   * after the one before went in would lay the page out once per chart.
   */
  function timeChart(figure, t, lines, opts) {
    const plotBox = h('div', { class: 'plot' });
    figure.append(plotBox);
    const x = t.map((v) => v / 1000);
    const series = [{}].concat(
      lines.map(([label, , stroke, extra]) => ({
        label,
        stroke,
        width: 2,
        spanGaps: false,
        ...(extra || {}),
      })),
    );
    const data = [x].concat(lines.map(([, values]) => values));
    const chart = new uPlot(
      {
        width: opts.width,
        height: 200,
        tzDate: utc,
        series,
        scales: { y: opts.y || {} },
        axes: [{}, { values: opts.format ? (_u, ticks) => ticks.map(opts.format) : undefined, size: 64 }],
        legend: { show: true },
        hooks: {
          draw: [
            (u) => {
              if (!opts.markers) return;
              const ctx = u.ctx;
              ctx.save();
              for (const m of opts.markers) {
                const px = u.valToPos(m.at / 1000, 'x', true);
                if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
                ctx.strokeStyle =
                  m.kind === 'rollback' ? '#111827' : m.level === 'critical' ? '#9f1239' : '#b45309';
                ctx.setLineDash(m.kind === 'rollback' ? [] : [4, 3]);
                ctx.lineWidth = 2;
                ctx.beginPath();
                ctx.moveTo(px, u.bbox.top);
                ctx.lineTo(px, u.bbox.top + u.bbox.height);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      data,
      plotBox,
    );
    charts.push(chart);
    if (opts.markers && opts.markers.length > 0) markerButtons(plotBox, chart, opts.markers);
    return chart;
  }

  /** Buttons over the chart at each marker: hover or focus shows the figures; placed on every draw. */
  function markerButtons(plotBox, chart, markers) {
    const layer = h('div', { class: 'markers' });
    plotBox.prepend(layer);
    const placed = [];
    for (const m of markers) {
      const figures = Object.entries(m.figures || {}).map(
        ([k, v]) => `${k}: ${Math.abs(v) <= 1 ? pct(v) : v}`,
      );
      const label = `${m.kind === 'rollback' ? 'Rollback' : `${m.level} alert`} at ${when(m.at)}: ${m.text}`;
      const id = `tip-${Math.random().toString(36).slice(2)}`;
      const tip = h(
        'div',
        { class: 'tip', role: 'tooltip', id, hidden: true },
        h('div', {}, label),
        ...figures.map((f) => h('div', {}, f)),
      );
      const button = h('button', {
        type: 'button',
        class: `marker ${m.kind} ${m.level || ''}`,
        'aria-label': label,
        'aria-describedby': id,
        'data-kind': m.kind,
      });
      const show = () => {
        tip.hidden = false;
      };
      const hide = () => {
        tip.hidden = true;
      };
      button.addEventListener('mouseenter', show);
      button.addEventListener('mouseleave', hide);
      button.addEventListener('focus', show);
      button.addEventListener('blur', hide);
      button.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') hide();
      });
      layer.append(button, tip);
      placed.push({ m, button, tip });
    }
    const place = (u) => {
      const dpr = window.devicePixelRatio || 1;
      for (const { m, button, tip } of placed) {
        const left = u.valToPos(m.at / 1000, 'x') + u.bbox.left / dpr;
        const inside =
          Number.isFinite(left) && left >= u.bbox.left / dpr && left <= (u.bbox.left + u.bbox.width) / dpr;
        button.hidden = !inside;
        button.style.left = `${left}px`;
        button.style.top = `${u.bbox.top / dpr - 7}px`;
        tip.style.left = `${Math.max(0, left - 100)}px`;
        tip.style.top = `${u.bbox.top / dpr + 12}px`;
      }
    };
    chart.hooks.draw = (chart.hooks.draw || []).concat(place);
    place(chart);
  }

  /** Sparklines are drawn when they scroll into view: a hundred features cost what a screenful does. */
  const sparkObserver = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        sparkObserver.unobserve(entry.target);
        const draw = entry.target.draw;
        entry.target.draw = undefined;
        if (draw) draw();
      }
    },
    { rootMargin: '200px' },
  );

  function sparkline(values, t, stroke, label, max) {
    const box = h('div', { class: 'spark', role: 'img', 'aria-label': label });
    box.draw = () => {
      if (!box.isConnected) return;
      const chart = new uPlot(
        {
          width: 120,
          height: 36,
          cursor: { show: false },
          legend: { show: false },
          select: { show: false },
          axes: [{ show: false }, { show: false }],
          scales: { x: { time: false }, y: max === undefined ? {} : { range: [0, max] } },
          series: [{}, { stroke, width: 1.5, spanGaps: false }],
        },
        [t.map((v) => v / 1000), values],
        box,
      );
      charts.push(chart);
    };
    queueMicrotask(() => sparkObserver.observe(box));
    return box;
  }

  /** `dashboard:data` and `dashboard:render` of the first page shown, for the timings of a browser's tools. */
  function mark(phase) {
    if (updates === 0) performance.mark(`dashboard:${phase}`);
  }

  // ---------------------------------------------------------------- overview

  async function showOverview() {
    const data = await api('api/overview');
    mark('data');
    document.title = 'Overview · Canary rollout';
    const nodes = [h('h1', {}, 'Overview')];
    nodes.push(
      h(
        'p',
        { class: 'muted' },
        `Rollouts ${data.enabled ? 'enabled' : 'disabled (canaryRollout.enabled is false)'} · metrics window ${Math.round(data.windowMs / 60000)} min · `,
        data.lastReportAt === null
          ? 'no monitor has reported yet'
          : `last monitor report ${when(data.lastReportAt)}`,
        ` · as of ${when(data.generatedAt)}`,
      ),
    );
    const alerts = h(
      'section',
      { 'aria-labelledby': 'alerts-h' },
      h('h2', { id: 'alerts-h' }, `Active alerts (${data.alerts.length})`),
    );
    if (data.alerts.length === 0) alerts.append(h('p', { class: 'muted' }, 'None.'));
    else
      alerts.append(
        h(
          'ul',
          { class: 'alerts', id: 'active-alerts' },
          data.alerts.map((a) =>
            h(
              'li',
              { class: a.level },
              h('strong', {}, a.level === 'critical' ? 'Critical' : 'Warning'),
              ' · ',
              a.feature === null ? 'all features' : h('a', { href: featureHref(a.feature) }, a.feature),
              ': ',
              h('span', { class: 'alert-text' }, a.message),
              h('span', { class: 'muted' }, ` (since ${when(a.since)})`),
            ),
          ),
        ),
      );
    nodes.push(alerts);
    const headers = [
      ['Feature'],
      ['State'],
      ['Rollout', 'num'],
      ['Strategy'],
      ['Beta', 'num'],
      ['Health'],
      ['Calls', 'num'],
      ['Error rate', 'num'],
      ['Calls (1 h)'],
      ['Error rate (1 h)'],
    ];
    const table = dataTable(
      { id: 'features' },
      headers,
      data.features.map((f) =>
        h(
          'tr',
          { 'data-feature': f.name },
          h('td', { class: 'name', 'data-label': 'Feature' }, h('a', { href: featureHref(f.name) }, f.name)),
          h(
            'td',
            { 'data-label': 'State' },
            h('span', { class: `badge ${f.enabled ? 'healthy' : 'off'}` }, f.enabled ? 'on' : 'off'),
          ),
          h('td', { class: 'num', 'data-label': 'Rollout' }, points(f.rolloutPercentage)),
          h('td', { 'data-label': 'Strategy' }, f.rolloutStrategy),
          h('td', { class: 'num', 'data-label': 'Beta' }, String(f.betaUsers)),
          h('td', { 'data-label': 'Health' }, healthBadge(f.health.level)),
          h('td', { class: 'num', 'data-label': 'Calls' }, String(f.calls)),
          h('td', { class: 'num', 'data-label': 'Error rate' }, pct(f.errorRate)),
          h(
            'td',
            { 'data-label': 'Calls (1 h)' },
            sparkline(f.spark.calls, f.spark.t, '#0b57d0', `Calls of ${f.name} over the last hour`),
          ),
          h(
            'td',
            { 'data-label': 'Error rate (1 h)' },
            sparkline(f.spark.errorRate, f.spark.t, '#9f1239', `Error rate of ${f.name} over the last hour`),
          ),
        ),
      ),
      'Features: calls and error rate over the last hour',
    );
    nodes.push(
      data.features.length === 0
        ? h('p', {}, 'No features yet: declare them in config/canary-rollout.json.')
        : table,
    );
    replace(nodes);
    mark('render');
  }

  // ---------------------------------------------------------------- feature page

  let range = '6h';

  async function showFeature(name) {
    const data = await api(`api/features/${encodeURIComponent(name)}?range=${range}`);
    await sessionLoaded;
    mark('data');
    document.title = `${data.name} · Canary rollout`;
    const nodes = [
      h('p', {}, h('a', { href: './' }, '← Overview')),
      h('h1', { id: 'feature-name' }, data.name),
      h(
        'div',
        { class: 'facts' },
        fact('State', data.enabled ? 'on' : 'off'),
        fact('Rollout', `${points(data.rolloutPercentage)} (${data.rolloutStrategy})`),
        fact('Health', healthBadge(data.health.level)),
        fact('Beta list', `${data.betaUsers} users`),
        fact('Calls (window)', String(data.metrics.calls)),
        fact('Error rate (window)', pct(data.metrics.errorRate)),
        fact('p95 latency (window)', ms(data.metrics.p95Latency)),
        fact('Stage since', when(data.stageStartedAt)),
        fact(
          'Next raise',
          data.nextRaiseAllowedAt === null
            ? 'no guard'
            : data.nextRaiseAllowedAt <= data.generatedAt
              ? 'allowed now'
              : `from ${when(data.nextRaiseAllowedAt)}`,
        ),
      ),
    ];
    if (data.health.findings.length > 0)
      nodes.push(
        h(
          'ul',
          {},
          data.health.findings.map((f) => h('li', {}, f)),
        ),
      );
    nodes.push(actionsPanel(data));

    const select = h(
      'select',
      { id: 'range', 'aria-label': 'Time range' },
      ['1h', '6h', '24h'].map((r) => h('option', { value: r, selected: r === range }, `last ${r}`)),
    );
    select.addEventListener('change', () => {
      range = select.value;
      void load();
    });
    nodes.push(h('h2', {}, 'Over time'), h('label', {}, 'Range', select));
    const grid = h('div', { class: 'charts' });
    nodes.push(grid);
    const fig = (id, title) => {
      const f = h('figure', { class: 'chart', id, 'aria-label': title }, h('figcaption', {}, title));
      grid.append(f);
      return f;
    };
    const s = data.series;
    const markers = data.markers;
    const flat = (v) => s.t.map(() => v);
    const perStep = s.stepMs >= 60000 ? `${s.stepMs / 60000} min` : `${s.stepMs / 1000} s`;
    const figCalls = fig('chart-calls', `Calls (per ${perStep})`);
    const figErr = fig('chart-error-rate', `Error rate (max ${pct(data.thresholds.maxErrorRate)})`);
    const figOk = fig('chart-success-rate', `Success rate (min ${pct(data.thresholds.minSuccessRate)})`);
    const figP95 = fig('chart-p95', `p95 latency (warning at ${ms(data.thresholds.latencyWarningMs)})`);
    const figPct = fig('chart-percentage', 'Rollout percentage');
    replace(nodes);
    const [wCalls, wErr, wOk, wP95, wPct] = [figCalls, figErr, figOk, figP95, figPct].map(chartWidth);
    const rate = (v) => (v === null ? '' : `${(v * 100).toFixed(1)} %`);
    timeChart(figCalls, s.t, [['Calls', s.calls, '#0b57d0']], { markers, width: wCalls });
    /** A figure against its threshold, drawn as a dashed line of its own (named in the legend). */
    const againstLine = (figure, width, label, values, colour, lineLabel, line, opts) =>
      timeChart(
        figure,
        s.t,
        [
          [label, values, colour],
          [lineLabel, flat(line), '#111827', { dash: [6, 4], width: 1.5 }],
        ],
        { markers, width, ...opts },
      );
    const t = data.thresholds;
    againstLine(figErr, wErr, 'Error rate', s.errorRate, '#9f1239', 'maxErrorRate', t.maxErrorRate, {
      format: rate,
      y: { range: (_u, _min, max) => [0, Math.max(max, t.maxErrorRate * 1.5)] },
    });
    againstLine(figOk, wOk, 'Success rate', s.successRate, '#14532d', 'minSuccessRate', t.minSuccessRate, {
      format: rate,
      y: { range: (_u, min) => [Math.min(min, t.minSuccessRate) * 0.98, 1] },
    });
    againstLine(figP95, wP95, 'p95 latency', s.p95, '#7c3aed', 'latency warning', t.latencyWarningMs, {
      format: (v) => ms(v),
      y: { range: (_u, _min, max) => [0, Math.max(max, t.latencyWarningMs * 1.1)] },
    });
    timeChart(
      figPct,
      data.percentage.t,
      [['Percentage', data.percentage.value, '#0b57d0', { paths: uPlot.paths.stepped({ align: 1 }) }]],
      {
        markers,
        width: wPct,
        format: (v) => `${v} %`,
        y: { range: [0, 100] },
      },
    );
    for (const f of [figCalls, figErr, figOk, figP95, figPct]) {
      f.append(
        h(
          'div',
          { class: 'legend' },
          markers.length === 0
            ? 'No alerts or rollbacks in this range.'
            : `${markers.length} marker${markers.length === 1 ? '' : 's'}: dashed red/amber lines are alerts, black lines rollbacks. Hover or focus the dots above the chart for figures.`,
        ),
      );
    }

    const rest = [];
    rest.push(h('h2', {}, 'Treatment against control'));
    rest.push(comparisonView(data.comparison));
    rest.push(h('h2', {}, 'Plan'));
    rest.push(planView(data.plan));
    rest.push(h('h2', {}, 'Audit trail'));
    rest.push(auditTable(data.audit));
    main.append(...rest);
    mark('render');
  }

  function fact(label, value) {
    return h(
      'div',
      { class: 'fact' },
      h('span', { class: 'label' }, label),
      h('span', { class: 'value' }, value),
    );
  }

  function comparisonView(c) {
    if (c === null)
      return h(
        'p',
        { class: 'muted', id: 'comparison' },
        'No control to compare with (100 %, stable, beta-only, or no control calls recorded yet).',
      );
    const interval = (iv, fmt) =>
      `${iv[0] === null ? '−∞' : fmt(iv[0])} to ${iv[1] === null ? '+∞' : fmt(iv[1])}`;
    const signedPct = (v) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} pts`;
    const signedMs = (v) => `${v >= 0 ? '+' : ''}${Math.round(v)} ms`;
    const row = (metric, m, fmt, efmt) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, metric),
        h('td', { class: 'num', 'data-label': 'Treatment' }, fmt(m.treatment)),
        h('td', { class: 'num', 'data-label': 'Control' }, fmt(m.control)),
        h('td', { class: 'num', 'data-label': 'Effect' }, m.effect === null ? '-' : efmt(m.effect)),
        h('td', { 'data-label': 'Always-valid interval' }, interval(m.interval, efmt)),
        h('td', { 'data-label': 'Verdict' }, m.verdict),
      );
    return h(
      'div',
      { id: 'comparison' },
      h(
        'p',
        {},
        `Since ${when(c.since)}: ${c.treatmentCalls} treatment calls against ${c.controlCalls} control calls. Verdict: `,
        h('strong', {}, c.verdict),
        ` (intervals hold at every look with ${(100 - c.alpha * 100).toFixed(0)} % confidence).`,
      ),
      dataTable(
        {},
        ['Metric', 'Treatment', 'Control', 'Effect', 'Always-valid interval', 'Verdict'].map((x) => [x]),
        [
          row('Error rate', c.errorRate, pct, signedPct),
          row('Success rate', c.successRate, pct, signedPct),
          row('p95 latency', c.p95Latency, ms, signedMs),
        ],
      ),
    );
  }

  function planView(plan) {
    if (plan === null) return h('p', { class: 'muted', id: 'plan' }, 'No plan configured.');
    const step = plan.steps[plan.stepIndex];
    return h(
      'div',
      { id: 'plan' },
      h(
        'p',
        {},
        `Plan ${plan.status}${plan.reason ? ` (${plan.reason})` : ''}: step ${plan.stepIndex + 1} of ${plan.steps.length} at ${points(step.percentage)}`,
        plan.nextPercentage === null
          ? ''
          : `; next ${points(plan.nextPercentage)} ${plan.nextStepAt === null ? '' : `from ${when(plan.nextStepAt)}`}`,
      ),
      h('progress', { max: plan.steps.length, value: plan.stepIndex + 1, 'aria-label': 'Plan progress' }),
      h(
        'ol',
        {},
        plan.steps.map((s, i) =>
          h(
            'li',
            { 'aria-current': i === plan.stepIndex ? 'step' : undefined },
            `${points(s.percentage)}${i === plan.stepIndex ? ' (current)' : ''}`,
          ),
        ),
      ),
    );
  }

  function auditTable(entries) {
    if (entries.length === 0) return h('p', { class: 'muted', id: 'audit' }, 'No changes recorded.');
    return dataTable(
      { id: 'audit' },
      ['When', 'Who', 'What', 'Change', 'Reason'].map((x) => [x]),
      entries.map((e) =>
        h(
          'tr',
          {},
          h('td', { 'data-label': 'When' }, when(e.at)),
          h('td', { 'data-label': 'Who', class: 'actor' }, e.actor),
          h('td', { 'data-label': 'What' }, `${e.action} (${e.source})`),
          h('td', { 'data-label': 'Change' }, changeText(e.before, e.after)),
          h('td', { 'data-label': 'Reason' }, e.reason || '-'),
        ),
      ),
    );
  }

  function changeText(before, after) {
    const b = before || {};
    const a = after || {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => b[k] !== a[k]);
    return keys.length === 0 ? '-' : keys.map((k) => `${k} ${b[k] ?? '-'} → ${a[k] ?? '-'}`).join(', ');
  }

  // ---------------------------------------------------------------- actions

  /**
   * The actions of a feature. A live reload keeps the panel that is there (an open confirmation,
   * a half-typed percentage) as long as it is for the same feature and the same sign-in.
   */
  function actionsPanel(data) {
    const key = `${data.name}|${session.actionsEnabled}|${session.signedIn}|${data.plan !== null}`;
    const current = document.getElementById('actions');
    if (current && current.dataset.key === key) return current;
    const box = h(
      'section',
      { 'aria-labelledby': 'actions-h', id: 'actions', 'data-key': key },
      h('h2', { id: 'actions-h' }, 'Actions'),
    );
    if (!session.actionsEnabled) {
      box.append(
        h(
          'p',
          { class: 'notice', id: 'read-only' },
          'Read-only: this dashboard was started without a token (--token or auth.token), so it takes no actions.',
        ),
      );
      return box;
    }
    if (!session.signedIn) {
      box.append(
        h('p', { class: 'notice' }, 'Sign in with the dashboard token (top right) to change the rollout.'),
      );
      return box;
    }
    // The outcome of the last action outlives the reloads it causes.
    const message = h('p', { class: 'message', id: 'action-message', role: 'status', 'aria-live': 'polite' });
    const say = (text, isError) => {
      lastOutcome = { feature: data.name, text, isError };
      message.textContent = text;
      message.className = isError ? 'message error' : 'message';
    };
    if (lastOutcome !== null && lastOutcome.feature === data.name) {
      message.textContent = lastOutcome.text;
      message.className = lastOutcome.isError ? 'message error' : 'message';
    }
    const input = h('input', {
      id: 'new-percentage',
      type: 'number',
      min: 0,
      max: 100,
      step: 0.01,
      required: true,
      value: data.rolloutPercentage,
      inputmode: 'decimal',
    });
    const percentForm = h(
      'form',
      { class: 'inline', id: 'percentage-form' },
      h('label', { for: 'new-percentage' }, 'New percentage', input),
      h('button', { type: 'submit' }, 'Set percentage'),
    );
    percentForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await post(`api/features/${encodeURIComponent(data.name)}/percentage`, {
          percentage: Number(input.value),
        });
        say(`${data.name}: ${points(r.previousPercentage)} → ${points(r.rolloutPercentage)}`, false);
      } catch (error) {
        const b = error.body || {};
        say(
          b.guard === 'minStableTime'
            ? `Refused by minStableTime: a raise is allowed from ${when(b.allowedAt)}. (${error.message})`
            : `Refused: ${error.message}`,
          true,
        );
      }
      void load();
    });

    const dialog = h('dialog', { id: 'rollback-dialog', 'aria-labelledby': 'rollback-title' });
    const reason = h('input', {
      id: 'rollback-reason',
      type: 'text',
      maxlength: 500,
      placeholder: 'manual rollback from the dashboard',
    });
    const confirmForm = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'rollback-title' }, `Roll back ${data.name}?`),
      h(
        'p',
        {},
        'Percentage to 0 %, beta list cleared, every beta user back to stable. This cannot be undone in one step.',
      ),
      h('label', { for: 'rollback-reason' }, 'Reason (optional)', reason),
      h(
        'p',
        { class: 'inline' },
        h(
          'button',
          { type: 'submit', value: 'confirm', class: 'danger', id: 'rollback-confirm' },
          'Roll back now',
        ),
        ' ',
        h('button', { type: 'submit', value: 'cancel', class: 'secondary', id: 'rollback-cancel' }, 'Cancel'),
      ),
    );
    dialog.append(confirmForm);
    dialog.addEventListener('close', async () => {
      if (dialog.returnValue !== 'confirm') {
        void load();
        return;
      }
      try {
        const r = await post(`api/features/${encodeURIComponent(data.name)}/rollback`, {
          confirm: true,
          reason: reason.value,
        });
        say(
          r.performed
            ? `${data.name} rolled back.`
            : `${data.name} was already off for everyone; nothing to roll back.`,
          false,
        );
      } catch (error) {
        say(`Refused: ${error.message}`, true);
      }
      void load();
    });
    const rollbackButton = h(
      'button',
      { type: 'button', class: 'danger', id: 'rollback-open' },
      'Roll back…',
    );
    rollbackButton.addEventListener('click', () => {
      dialog.returnValue = '';
      dialog.showModal();
      document.getElementById('rollback-cancel').focus();
    });

    const row = h('div', { class: 'actions' }, percentForm, rollbackButton);
    if (data.plan !== null) {
      for (const [move, label] of [
        ['pause', 'Pause plan'],
        ['resume', 'Resume plan'],
        ['skip', 'Skip plan step'],
      ]) {
        const b = h('button', { type: 'button', class: 'secondary', id: `plan-${move}` }, label);
        b.addEventListener('click', async () => {
          try {
            const r = await post(`api/features/${encodeURIComponent(data.name)}/plan/${move}`, {});
            say(`Plan ${r.plan.status}, step ${r.plan.stepIndex + 1} of ${r.plan.steps.length}.`, false);
          } catch (error) {
            const body = error.body || {};
            say(
              body.guard === 'minStableTime'
                ? `Refused by minStableTime: allowed from ${when(body.allowedAt)}.`
                : `Refused: ${error.message}`,
              true,
            );
          }
          void load();
        });
        row.append(b);
      }
    }
    box.append(row, message, dialog);
    return box;
  }

  // ---------------------------------------------------------------- history

  async function showHistory() {
    const params = new URLSearchParams(location.search);
    const query = new URLSearchParams();
    const feature = params.get('feature') || '';
    const from = params.get('from') || '';
    const to = params.get('to') || '';
    const kinds = params.getAll('kind');
    if (feature) query.set('feature', feature);
    if (from) query.set('from', String(Date.parse(`${from}Z`)));
    if (to) query.set('to', String(Date.parse(`${to}Z`)));
    if (kinds.length > 0) query.set('kinds', kinds.join(','));
    const [data, overview] = await Promise.all([api(`api/history?${query}`), api('api/overview')]);
    document.title = 'History · Canary rollout';
    const featureSelect = h(
      'select',
      { name: 'feature', id: 'history-feature' },
      h('option', { value: '' }, 'All features'),
      overview.features.map((f) => h('option', { value: f.name, selected: f.name === feature }, f.name)),
    );
    const form = h(
      'form',
      { class: 'filters', method: 'get', action: 'history', id: 'history-filters' },
      h('label', { for: 'history-feature' }, 'Feature', featureSelect),
      h(
        'label',
        { for: 'history-from' },
        'From (UTC)',
        h('input', { type: 'datetime-local', name: 'from', id: 'history-from', value: from }),
      ),
      h(
        'label',
        { for: 'history-to' },
        'To (UTC)',
        h('input', { type: 'datetime-local', name: 'to', id: 'history-to', value: to }),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Show'),
        ['alert', 'rollback', 'audit'].map((k) =>
          h(
            'label',
            {},
            h('input', {
              type: 'checkbox',
              name: 'kind',
              value: k,
              checked: kinds.length === 0 || kinds.includes(k),
            }),
            `${k}s`,
          ),
        ),
      ),
      h('button', { type: 'submit' }, 'Filter'),
    );
    const rows = data.items.map((i) =>
      h(
        'tr',
        { 'data-kind': i.kind },
        h('td', { 'data-label': 'When' }, when(i.at)),
        h('td', { 'data-label': 'Kind' }, i.level ? `${i.kind} (${i.level})` : i.kind),
        h(
          'td',
          { 'data-label': 'Feature', class: 'name' },
          i.feature === null ? 'all features' : h('a', { href: featureHref(i.feature) }, i.feature),
        ),
        h('td', { 'data-label': 'What', class: 'history-text' }, i.text),
        h('td', { 'data-label': 'Who' }, i.actor || '-'),
      ),
    );
    replace([
      h('h1', {}, 'History'),
      form,
      h(
        'p',
        { class: 'muted' },
        `${data.items.length} entries from ${when(data.from)} to ${when(data.to)}${data.truncated ? ' (newest 500 shown; narrow the filter)' : ''}.`,
      ),
      rows.length === 0
        ? h('p', {}, 'Nothing in this range.')
        : dataTable(
            { id: 'history' },
            ['When', 'Kind', 'Feature', 'What', 'Who'].map((x) => [x]),
            rows,
          ),
    ]);
  }

  // ---------------------------------------------------------------- session

  async function loadSession() {
    session = await api('api/session');
    renderSession();
  }

  function renderSession() {
    sessionBox.replaceChildren();
    if (!session.actionsEnabled) {
      sessionBox.append(h('span', { class: 'muted' }, 'Read-only'));
      return;
    }
    if (session.signedIn) {
      const out = h('button', { type: 'button', class: 'secondary', id: 'sign-out' }, 'Sign out');
      out.addEventListener('click', async () => {
        await post('api/logout', {}).catch(() => undefined);
        await loadSession();
        void load();
      });
      sessionBox.append(h('span', {}, 'Signed in as ', h('strong', { id: 'actor' }, session.actor)), out);
      return;
    }
    const token = h('input', {
      type: 'password',
      id: 'login-token',
      name: 'token',
      autocomplete: 'current-password',
      required: true,
    });
    const name = h('input', {
      type: 'text',
      id: 'login-name',
      name: 'name',
      autocomplete: 'username',
      maxlength: 64,
      pattern: '[A-Za-z0-9._@:+\\-]{1,64}',
    });
    const message = h('span', { class: 'message', role: 'status', id: 'login-message' });
    const form = h(
      'form',
      { class: 'inline', id: 'login-form', 'aria-label': 'Sign in' },
      h('label', { for: 'login-token' }, 'Dashboard token', token),
      h('label', { for: 'login-name' }, 'Name for the audit trail (optional)', name),
      h('button', { type: 'submit' }, 'Sign in'),
      message,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await post('api/login', { token: token.value, name: name.value });
        await loadSession();
        void load();
      } catch (error) {
        message.textContent = error.message;
        message.className = 'message error';
      }
    });
    sessionBox.append(form);
  }

  // ---------------------------------------------------------------- live updates

  function connect() {
    const source = new EventSource('api/events');
    source.addEventListener('hello', () => {
      live.textContent = 'Live';
      live.dataset.state = 'live';
    });
    let changes = 0;
    source.addEventListener('change', (event) => {
      changes++;
      live.dataset.changes = String(changes);
      try {
        const { version } = JSON.parse(event.data);
        if (typeof version === 'number') live.dataset.version = String(version);
      } catch {
        // A change without figures still reloads.
      }
      live.textContent = `Live · updated ${when(Date.now())}`;
      void load();
    });
    source.addEventListener('error', () => {
      live.textContent = 'Reconnecting…';
      live.dataset.state = 'down';
    });
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => void load(), 200);
  });

  (async () => {
    // Both are asked for at once (and were preloaded by the page); the page waits for the session
    // only where it shows what it allows.
    sessionLoaded = loadSession().catch((error) => showError(error));
    await load();
    await sessionLoaded;
    connect();
  })();
})();
