// boxcall pit wall: loads a session's state from /sessions/{id}, then follows its
// Server-Sent Events (/sessions/{id}/events?since=<seq>). Plain JavaScript, no build step.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    sessions: [],
    id: null,
    summary: null,
    cars: new Map(), // car -> row (as /sessions/{id} "tower" entries, without laps)
    laps: new Map(), // car -> [{lap, time_s, stint, compound, tyre_age, predicted_s}]
    feed: [],
    sessionAlerts: new Map(),
    selected: null,
    es: null,
    flash: new Set(),
    pending: false,
  };
  window.pitwall = state; // for the browser test and curious strategists

  const ALERT_LABEL = {
    pit_window_open: 'WINDOW', tyre_cliff: 'CLIFF', cheap_pit_stop: 'CHEAP STOP', sensor_dropout: 'DROPOUT',
    stuck_sensor: 'STUCK', throttle_error: 'THROTTLE', feed_stall: 'FEED STALL',
  };
  const COMPOUND_COLOR = {
    SOFT: '#ff3b3b', MEDIUM: '#ffd12e', HARD: '#f0f0f0', INTERMEDIATE: '#39b54a', WET: '#2f7fff',
  };

  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const lapTime = (s) => {
    if (!isNum(s)) return '\u2013';
    const m = Math.floor(s / 60);
    const rest = (s - m * 60).toFixed(3).padStart(6, '0');
    return m > 0 ? `${m}:${rest}` : rest;
  };
  const gap = (v, pos) => {
    if (pos === 1) return 'Leader';
    return isNum(v) ? `+${v.toFixed(3)}` : '\u2013';
  };
  const axisLabel = (v, step) => {
    const m = Math.floor(v / 60);
    const sec = v - m * 60;
    const text = step < 1 ? sec.toFixed(1).padStart(4, '0') : String(Math.round(sec)).padStart(2, '0');
    return m > 0 ? `${m}:${text}` : text;
  };
  const clock = (ms) => (isNum(ms) ? new Date(ms).toISOString().substring(11, 19) : '');

  // ---------------------------------------------------------------- data

  async function getJson(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return r.json();
  }

  async function refreshSessions() {
    try {
      const data = await getJson('/sessions');
      state.sessions = data.sessions;
      renderTabs();
      if (!state.id && state.sessions.length) {
        const wanted = new URLSearchParams(location.hash.substring(1)).get('session');
        const pick = state.sessions.find((s) => s.id === wanted) || state.sessions[0];
        openSession(pick.id);
      }
    } catch (e) {
      setConn('down', 'offline');
    }
  }

  async function openSession(id) {
    if (state.es) state.es.close();
    state.es = null;
    state.id = id;
    history.replaceState(null, '', `#session=${encodeURIComponent(id)}`);
    let data;
    try {
      data = await getJson(`/sessions/${encodeURIComponent(id)}`);
    } catch (e) {
      state.id = null;
      return;
    }
    if (state.id !== id) return;
    state.summary = data;
    state.cars.clear();
    state.laps.clear();
    for (const row of data.tower) {
      state.laps.set(row.car, row.laps || []);
      delete row.laps;
      state.cars.set(row.car, row);
    }
    state.feed = data.alert_feed || [];
    state.sessionAlerts = new Map((data.session_alerts || []).map((a) => [a.kind, a]));
    if (!state.cars.has(state.selected)) state.selected = data.tower.length ? data.tower[0].car : null;
    renderTabs();
    schedule();
    follow(id, data.seq);
  }

  function follow(id, since) {
    const es = new EventSource(`/sessions/${encodeURIComponent(id)}/events?since=${since}`);
    state.es = es;
    es.onopen = () => setConn('live', 'live');
    es.onerror = () => setConn('down', 'reconnecting');
    es.addEventListener('car', (e) => {
      const row = JSON.parse(e.data);
      const before = state.cars.get(row.car);
      if (before && before.lap !== row.lap) state.flash.add(row.car);
      state.cars.set(row.car, row);
      if (state.selected === null) state.selected = row.car;
      schedule();
    });
    es.addEventListener('lap', (e) => {
      const { car, point } = JSON.parse(e.data);
      const laps = state.laps.get(car) || [];
      const i = laps.findIndex((p) => p.lap >= point.lap);
      if (i < 0) laps.push(point);
      else if (laps[i].lap === point.lap) laps[i] = point;
      else laps.splice(i, 0, point);
      state.laps.set(car, laps);
      schedule();
    });
    es.addEventListener('alert', (e) => {
      const a = JSON.parse(e.data);
      state.feed.unshift(a);
      if (state.feed.length > 200) state.feed.length = 200;
      if (a.car === 0) {
        if (a.active) state.sessionAlerts.set(a.kind, a);
        else state.sessionAlerts.delete(a.kind);
      }
      schedule();
    });
    es.addEventListener('session', (e) => {
      const summary = JSON.parse(e.data);
      state.summary = { ...state.summary, ...summary };
      const i = state.sessions.findIndex((x) => x.id === summary.id);
      if (i >= 0) state.sessions[i] = summary;
      renderTabs();
      schedule();
    });
    es.addEventListener('reset', () => openSession(id)); // fell behind the server's event ring: reload
  }

  function setConn(kind, text) {
    const el = $('conn');
    el.dataset.state = kind;
    el.textContent = text;
  }

  // ---------------------------------------------------------------- render

  function schedule() {
    if (state.pending) return;
    state.pending = true;
    requestAnimationFrame(() => {
      state.pending = false;
      render();
    });
  }

  function renderTabs() {
    const nav = $('sessions');
    nav.innerHTML = state.sessions.map((s) => {
      const laps = s.scheduled_laps ? `L${s.leader_lap}/${s.scheduled_laps}` : `L${s.leader_lap}`;
      return `<button data-id="${esc(s.id)}" aria-current="${s.id === state.id}">${esc(s.id)}<small>${laps}</small></button>`;
    }).join('');
    for (const b of nav.querySelectorAll('button')) b.onclick = () => openSession(b.dataset.id);
  }

  function towerOrder() {
    const rows = [...state.cars.values()];
    // Running cars by position, then retired ones (greyed), then cars without a position.
    const pos = (r) => (isNum(r.position) ? r.position : 1e6) + (r.retired ? 1e3 : 0);
    rows.sort((a, b) => pos(a) - pos(b) || a.car - b.car);
    return rows;
  }

  function tyreCell(r) {
    if (!r.compound || r.compound === 'UNKNOWN') return '\u2013';
    const age = isNum(r.tyre_age) ? r.tyre_age : '';
    return `<span class="tyre"><span class="cmp ${esc(r.compound)}">${esc(r.compound[0])}</span>${age}</span>`;
  }
  function windowCell(r) {
    const w = r.pit_window;
    if (!w || !isNum(w.start) || !isNum(w.end)) return '';
    const next = (r.prediction_lap ?? r.lap ?? 0) + 1;
    const text = w.start === w.end ? `L${w.start}` : `L${w.start}\u2013${w.end}`;
    const best = isNum(w.best) ? `<span class="best">\u2605${w.best}</span>` : '';
    const open = w.start <= next && next <= w.end;
    return `${open ? `<span class="open">${text}</span>` : text}${best}`;
  }
  function p3Cell(r) {
    if (!isNum(r.p_pit_3)) return '\u2013';
    const pct = Math.round(r.p_pit_3 * 100);
    return `<span class="p3${pct >= 50 ? ' hot' : ''}"><span class="track"><span class="fill" style="width:${pct}%"></span></span>${pct}%</span>`;
  }
  function alertCells(r) {
    return (r.alerts || []).map((a) =>
      `<span class="badge ${esc(a.severity)}" title="${esc(a.message)}">${esc(ALERT_LABEL[a.kind] || a.kind)}</span>`).join('');
  }

  function renderTower() {
    const rows = towerOrder();
    $('empty').hidden = rows.length > 0;
    const body = $('tower').tBodies[0];
    body.innerHTML = rows.map((r) => {
      const cls = [r.retired ? 'retired' : '', r.car === state.selected ? 'selected' : '',
        state.flash.has(r.car) ? 'flash' : ''].filter(Boolean).join(' ');
      const degHigh = isNum(r.deg_slope_s_per_lap) && r.deg_slope_s_per_lap >= 0.15 ? ' high' : '';
      const deg = isNum(r.deg_slope_s_per_lap) ? r.deg_slope_s_per_lap.toFixed(2) : '\u2013';
      const mode = r.mode ? `<span class="mode ${esc(r.mode)}">${esc(r.mode)}</span><span class="reason">${esc(r.mode_reason || '')}</span>` : '';
      return `<tr data-car="${r.car}" class="${cls}">` +
        `<td class="pos" data-col="position">${isNum(r.position) ? r.position : ''}</td>` +
        `<td class="left driver" data-col="driver"><span class="num">${r.car}</span><b>${esc(r.driver || '')}</b></td>` +
        `<td class="gap" data-col="gap">${gap(r.gap_to_leader_s, r.position)}</td>` +
        `<td class="int" data-col="interval">${r.position === 1 ? '' : (isNum(r.interval_s) ? `+${r.interval_s.toFixed(3)}` : '\u2013')}</td>` +
        `<td data-col="tyre">${tyreCell(r)}</td>` +
        `<td class="deg${degHigh}" data-col="deg">${deg}</td>` +
        `<td class="last" data-col="last">${lapTime(r.last_lap_s)}</td>` +
        `<td class="pred" data-col="pred">${lapTime(r.pred_next_lap_s)}</td>` +
        `<td data-col="p_pit_3">${p3Cell(r)}</td>` +
        `<td class="window" data-col="window">${windowCell(r)}</td>` +
        `<td data-col="next">${r.next_compound ? `<span class="cmp ${esc(r.next_compound)}">${esc(r.next_compound[0])}</span>` : ''}</td>` +
        `<td class="left mode-cell" data-col="mode" title="${esc(r.mode_reason || '')}">${mode}</td>` +
        `<td class="left" data-col="alerts">${alertCells(r)}</td></tr>`;
    }).join('');
    state.flash.clear();
    for (const tr of body.rows) {
      tr.onclick = () => {
        state.selected = Number(tr.dataset.car);
        schedule();
      };
    }
  }

  function renderHeader() {
    const s = state.summary;
    if (!s) return;
    $('lap').textContent = s.scheduled_laps ? `Lap ${s.leader_lap}/${s.scheduled_laps}` : `Lap ${s.leader_lap}`;
    $('model').textContent = s.model_version ? `model ${s.model_version}` : 'no model';
    const banner = $('banner');
    const open = [...state.sessionAlerts.values()];
    banner.hidden = open.length === 0;
    banner.textContent = open.map((a) => `${a.severity}: ${a.message}`).join('  \u00b7  ');
  }

  function renderFeed() {
    $('alert-count').textContent = state.feed.length ? `(${state.feed.length})` : '';
    $('feed').innerHTML = state.feed.slice(0, 100).map((a) =>
      `<li class="${esc(a.severity)}${a.active ? '' : ' cleared'}" data-kind="${esc(a.kind)}">` +
      `<div class="meta">${clock(a.event_time_ms)} UTC \u00b7 ${a.car ? `${esc(a.driver || '')} #${a.car}` : 'session'}` +
      `${a.active ? '' : ' \u00b7 cleared'}</div>` +
      `<div><span class="kind">${esc(ALERT_LABEL[a.kind] || a.kind)}</span><span class="msg">${esc(a.message)}</span></div></li>`,
    ).join('');
  }

  // The selected car's lap times by stint (compound colour), what boxcall predicted
  // for each lap (dashed), the predicted next lap and the pit window.
  function renderChart() {
    const el = $('chart');
    const row = state.cars.get(state.selected);
    const laps = (state.laps.get(state.selected) || []).filter((p) => isNum(p.lap));
    $('chart-car').textContent = row ? `${row.driver || ''} #${row.car}` : '';
    if (!row || laps.length === 0) {
      el.innerHTML = '<p class="empty">No completed laps yet.</p>';
      return;
    }
    const W = 420; const H = 250; const L = 48; const R = 10; const T = 10; const B = 26;
    const next = isNum(row.pred_next_lap_s) && isNum(row.prediction_lap)
      ? { lap: row.prediction_lap + 1, s: row.pred_next_lap_s } : null;
    const w = row.pit_window && isNum(row.pit_window.start) ? row.pit_window : null;
    const x0 = Math.max(1, laps[0].lap - 0.5);
    const x1 = Math.max(laps[laps.length - 1].lap + 1.5, next ? next.lap + 0.5 : 0, w && isNum(w.end) ? w.end + 0.5 : 0);
    const times = laps.map((p) => p.time_s).filter(isNum).sort((a, b) => a - b);
    const preds = laps.map((p) => p.predicted_s).filter(isNum);
    if (next) preds.push(next.s);
    const q = (a, f) => a[Math.min(a.length - 1, Math.floor(f * (a.length - 1)))];
    // Robust range: pit laps and neutralised laps would flatten the racing laps.
    let lo = Math.min(times.length ? q(times, 0.02) : Infinity, ...preds);
    let hi = Math.max(times.length ? q(times, 0.8) : -Infinity, ...preds);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 80; hi = 100; }
    lo -= 0.4; hi += 1.2;
    const X = (lap) => L + ((lap - x0) / (x1 - x0)) * (W - L - R);
    const Y = (s) => T + (1 - (Math.min(Math.max(s, lo), hi) - lo) / (hi - lo)) * (H - T - B);
    const parts = [];
    if (w && isNum(w.end)) {
      parts.push(`<rect class="win" x="${X(w.start - 0.5)}" y="${T}" width="${X(w.end + 0.5) - X(w.start - 0.5)}" height="${H - T - B}"/>`);
      if (isNum(w.best)) parts.push(`<line class="winbest" x1="${X(w.best)}" x2="${X(w.best)}" y1="${T}" y2="${H - B}"/>`);
    }
    const span = hi - lo;
    const step = span > 12 ? 4 : span > 6 ? 2 : span > 3 ? 1 : 0.5;
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}"/>`);
      parts.push(`<text x="${L - 4}" y="${Y(v) + 4}" text-anchor="end">${axisLabel(v, step)}</text>`);
    }
    const lapStep = Math.max(1, Math.ceil((x1 - x0) / 10));
    for (let lap = Math.ceil(x0); lap <= x1; lap += lapStep) {
      parts.push(`<text x="${X(lap)}" y="${H - 8}" text-anchor="middle">${lap}</text>`);
    }
    parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`);
    // Actual laps, one line per stint.
    const stints = new Map();
    for (const p of laps) {
      if (!isNum(p.time_s)) continue;
      const k = p.stint ?? 0;
      if (!stints.has(k)) stints.set(k, []);
      stints.get(k).push(p);
    }
    for (const pts of stints.values()) {
      const color = COMPOUND_COLOR[pts[pts.length - 1].compound] || '#8b96a5';
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" stroke-opacity="0.7" points="${pts.map((p) => `${X(p.lap)},${Y(p.time_s)}`).join(' ')}"/>`);
      for (const p of pts) {
        const clipped = p.time_s > hi;
        parts.push(clipped
          ? `<path d="M${X(p.lap) - 4},${Y(hi) + 6} L${X(p.lap) + 4},${Y(hi) + 6} L${X(p.lap)},${Y(hi)} Z" fill="${color}"><title>lap ${p.lap}: ${lapTime(p.time_s)}</title></path>`
          : `<circle cx="${X(p.lap)}" cy="${Y(p.time_s)}" r="3" fill="${color}"><title>lap ${p.lap}: ${lapTime(p.time_s)} (${p.compound}, age ${p.tyre_age ?? '?'})</title></circle>`);
      }
    }
    const pred = laps.filter((p) => isNum(p.predicted_s)).map((p) => [p.lap, p.predicted_s]);
    if (next) pred.push([next.lap, next.s]);
    if (pred.length > 1) parts.push(`<polyline class="pred" points="${pred.map(([l, s]) => `${X(l)},${Y(s)}`).join(' ')}"/>`);
    if (next) parts.push(`<circle class="next" cx="${X(next.lap)}" cy="${Y(next.s)}" r="4.5"><title>predicted lap ${next.lap}: ${lapTime(next.s)}</title></circle>`);
    el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="lap times">${parts.join('')}</svg>`;
  }

  function render() {
    renderHeader();
    renderTower();
    renderFeed();
    renderChart();
    document.body.dataset.session = state.id || '';
  }

  refreshSessions();
  setInterval(refreshSessions, 5000);
})();
