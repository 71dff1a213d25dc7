// fedmesh's web UI: draws the controller's view document (GET api/view, pushed as Server-Sent
// Events on api/events) as a topology, a traffic graph, the proxies' sync state and the policies.
// No framework and nothing from a CDN: the page must work on a machine with no network but the
// controller. Every element is built with DOM calls (no innerHTML, no inline style), so the
// page's strict Content-Security-Policy never has anything to refuse.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'fedmesh.token';
const state = { view: null, lab: { available: false }, labBusy: {}, current: 'topology' };

// ---- authentication: the admin token (or `fedmesh dashboard`'s session key) as a bearer token --

function takeTokenFromFragment() {
  const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: 'Bearer ' + token } : {};
}

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.querySelector('main').hidden = true;
  document.getElementById('login-error').textContent = message || '';
}

document.getElementById('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value.trim());
  document.getElementById('login').hidden = true;
  document.querySelector('main').hidden = false;
  stream();
});

// ---- the event stream: fetch() rather than EventSource, which cannot send a header ----------

function setConnection(text, stateName) {
  const el = document.getElementById('connection');
  el.textContent = text;
  el.dataset.state = stateName;
}

async function stream() {
  for (;;) {
    try {
      const response = await fetch('api/events', { headers: authHeaders(), cache: 'no-store' });
      if (response.status === 401) {
        setConnection('signed out', 'connecting');
        showLogin('The token was refused.');
        return;
      }
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      setConnection('live', 'live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          onEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // the controller went away or restarted: try again
    }
    setConnection('reconnecting', 'reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function onEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) {
      type = line.slice(6).trim();
    } else if (line.startsWith('data:')) {
      data.push(line.slice(5).replace(/^ /, ''));
    }
  }
  if (type === 'view' && data.length) {
    state.view = JSON.parse(data.join('\n'));
    render();
  }
}

// ---- lab controls (offered by `fedmesh dashboard` in a lab) ----------------------------------

async function refreshLab() {
  try {
    const response = await fetch('api/lab', { headers: authHeaders(), cache: 'no-store' });
    if (response.ok) {
      state.lab = await response.json();
    }
  } catch (error) {
    state.lab = { available: false };
  }
  const note = document.getElementById('lab-note');
  note.hidden = !state.lab.available;
  note.textContent = state.lab.available
    ? 'Lab controls: kill a cluster (kill -9 of its process: API, agent, CA, gateway and pods) and revive it, while traffic flows.'
    : '';
  render();
}

async function labAction(action, cluster) {
  state.labBusy[cluster] = action === 'kill' ? 'killing' : 'reviving';
  render();
  try {
    const response = await fetch('api/lab/' + action + '?cluster=' + encodeURIComponent(cluster), {
      method: 'POST',
      headers: authHeaders(),
    });
    if (response.ok) {
      delete state.labBusy[cluster];
    } else {
      state.labBusy[cluster] = 'failed: ' + (await response.text());
    }
  } catch (error) {
    state.labBusy[cluster] = 'failed: ' + error;
  }
  await refreshLab();
}

function labCluster(name) {
  return (state.lab.clusters || []).find((c) => c.name === name);
}

// ---- helpers ---------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') {
      node.className = value;
    } else if (key.startsWith('data-')) {
      node.setAttribute(key, value);
    } else if (key === 'onclick') {
      node.addEventListener('click', value);
    } else {
      node[key] = value;
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    node.setAttribute(key, value);
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function rate(value) {
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

function errorShare(edge) {
  return edge.requestsPerSecond > 0 ? edge.errorsPerSecond / edge.requestsPerSecond : 0;
}

function errorColor(share) {
  if (share >= 0.05) return '#d64545';
  if (share >= 0.01) return '#e3a008';
  return '#2f6fdb';
}

function width(requestsPerSecond) {
  return Math.min(12, 1.5 + 2.2 * Math.log2(1 + requestsPerSecond));
}

function percent(share) {
  return (share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 0) + '%';
}

function clusterOrder(view) {
  return view.regions.flatMap((r) => r.clusters);
}

// ---- rendering -------------------------------------------------------------------------------

function render() {
  const view = state.view;
  if (!view) {
    return;
  }
  document.getElementById('meta').textContent =
    'replica ' + view.replica + ' · etcd revision ' + view.revision +
    (view.etcdSynced ? '' : ' · NOT synced with etcd');
  renderTopology(view);
  renderTraffic(view);
  renderProxies(view);
  renderPolicies(view);
}

let drawnTopology = '';

function renderTopology(view) {
  const regions = document.getElementById('regions');
  // Cards are rebuilt only when what they show changed: a button is not replaced under the
  // pointer every second. The arcs above them follow the traffic on every update.
  const key = JSON.stringify([view.regions, view.clusters, state.lab, state.labBusy]);
  if (key === drawnTopology) {
    requestAnimationFrame(() => drawClusterArcs(view));
    return;
  }
  drawnTopology = key;
  const byName = Object.fromEntries(view.clusters.map((c) => [c.name, c]));
  regions.replaceChildren(
    ...view.regions.map((region) =>
      el('div', { class: 'region', 'data-region': region.name },
        el('h2', {}, region.name),
        ...region.clusters.map((name) => clusterCard(byName[name])))));
  requestAnimationFrame(() => drawClusterArcs(view));
}

function clusterCard(cluster) {
  const lab = labCluster(cluster.name);
  const busy = state.labBusy[cluster.name];
  let button = null;
  if (state.lab.available && lab) {
    button = lab.running
      ? el('button', { class: 'kill', 'data-action': 'kill', disabled: !!lab.action || busy === 'killing',
          onclick: () => labAction('kill', cluster.name) }, 'Kill cluster')
      : el('button', { class: 'revive', 'data-action': 'revive', disabled: !!lab.action,
          onclick: () => labAction('revive', cluster.name) }, lab.action === 'reviving' ? 'Reviving…' : 'Revive');
  }
  const stateText = cluster.state === 'up' ? 'up' : 'down · ' + cluster.liveness.toLowerCase();
  const zones = cluster.zones.length
    ? cluster.zones.map((zone) =>
        el('div', { class: 'zone', 'data-zone': zone.name },
          el('div', { class: 'zone-name' }, zone.name),
          el('div', { class: 'chips' }, ...zone.services.map((s) => serviceChip(s, cluster)))))
    : [el('div', { class: 'zone' }, el('div', { class: 'zone-name' }, 'no endpoints'))];
  return el('div', { class: 'cluster', 'data-cluster': cluster.name, 'data-state': cluster.state },
    el('div', { class: 'cluster-head' },
      el('span', { class: 'name' }, cluster.name),
      el('span', { class: 'badge ' + cluster.state, 'data-role': 'state' }, stateText),
      button),
    el('div', { class: 'facts' },
      ...cluster.gateways.map((g) => el('span', { class: 'gateway', title: 'east-west gateway' }, 'gateway ' + g)),
      ' · ' + cluster.proxies + ' proxies here · network ' + (cluster.network || '(flat)'),
      lab && lab.action ? ' · ' + lab.action + '…' : '',
      lab && lab.error ? ' · ' + lab.error : '',
      busy && busy.startsWith('failed') ? ' · ' + busy : ''),
    ...zones);
}

function serviceChip(service, cluster) {
  const kind = service.healthy === 0 ? 'none' : cluster.endpointState === 'ready' ? '' : cluster.endpointState;
  const bad = service.draining + service.unhealthy;
  return el('span', { class: 'chip ' + kind + (service.exported ? '' : ' local'), 'data-service': service.service,
      'data-exported': String(service.exported),
      title: service.healthy + ' ready, ' + service.draining + ' draining, ' + service.unhealthy + ' not ready' +
        (cluster.endpointState === 'ready' ? '' : ' (' + cluster.endpointState + ')') +
        (service.exported ? '; exported to the mesh' : '; not exported: only this cluster reaches it') },
    service.service,
    el('span', { class: 'count' }, service.healthy),
    bad ? el('span', { class: 'bad' }, '+' + bad + ' not ready') : null,
    service.exported ? null : el('span', { class: 'scope' }, 'local only'));
}

/** Arcs above the cluster cards: requests/s from one cluster's workloads to another's. */
function drawClusterArcs(view) {
  const arcs = document.getElementById('cluster-arcs');
  const box = document.getElementById('topology').getBoundingClientRect();
  const defs = svg('defs');
  arcs.replaceChildren(defs);
  const cards = {};
  for (const card of document.querySelectorAll('.cluster')) {
    const r = card.getBoundingClientRect();
    cards[card.dataset.cluster] = { x: r.left - box.left + r.width / 2, y: r.top - box.top, r };
  }
  const edges = view.traffic.clusters.filter((e) => cards[e.source] && cards[e.destination]);
  edges.forEach((edge, index) => {
    const from = cards[edge.source];
    const to = cards[edge.destination];
    const share = errorShare(edge);
    const color = errorColor(share);
    const markerId = 'arrow-' + index;
    const marker = svg('marker', { id: markerId, viewBox: '0 0 10 10', refX: '8', refY: '5',
      markerUnits: 'userSpaceOnUse', markerWidth: '14', markerHeight: '14', orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
    defs.append(marker);
    const group = svg('g', { class: 'cluster-edge', 'data-from': edge.source, 'data-to': edge.destination,
      'data-rps': String(edge.requestsPerSecond) });
    const label = rate(edge.requestsPerSecond) + ' rps' + (share > 0 ? ' · ' + percent(share) + ' err' : '');
    if (edge.source === edge.destination) {
      const x = from.x;
      const y = from.y;
      group.append(svg('path', { class: 'arc', d: `M${x - 40},${y} C${x - 50},${y - 60} ${x + 50},${y - 60} ${x + 40},${y - 4}`,
        stroke: color, 'stroke-width': String(width(edge.requestsPerSecond)), 'marker-end': `url(#${markerId})` }));
      group.append(svg('text', { class: 'arc-label', x: String(x), y: String(y - 52), 'text-anchor': 'middle', fill: color },
        edge.source + ' → ' + edge.destination + ': ' + label));
    } else {
      const direction = to.x > from.x ? 1 : -1;
      const x1 = from.x + 14 * direction;
      const x2 = to.x - 14 * direction;
      const lift = Math.min(130, 40 + Math.abs(x2 - x1) / 5);
      const y1 = from.y;
      const y2 = to.y;
      const mid = (x1 + x2) / 2;
      // Arcs the other way round are drawn a little higher, so the two directions do not overlap.
      const top = Math.min(y1, y2) - lift - (direction < 0 ? 22 : 0);
      group.append(svg('path', { class: 'arc', d: `M${x1},${y1} C${x1},${top} ${x2},${top} ${x2},${y2}`,
        stroke: color, 'stroke-width': String(width(edge.requestsPerSecond)), 'marker-end': `url(#${markerId})`,
        'stroke-dasharray': '9 5' }));
      group.append(svg('text', { class: 'arc-label', x: String(mid), y: String(top + 0.25 * (Math.min(y1, y2) - top)),
        'text-anchor': 'middle', fill: color }, edge.source + ' → ' + edge.destination + ': ' + label));
    }
    arcs.append(group);
  });
}

function renderTraffic(view) {
  const traffic = view.traffic;
  const unreachable = Object.keys(traffic.unreachable || {}).length;
  document.getElementById('traffic-note').textContent = traffic.scrapedAt
    ? 'Scraped every second from ' + traffic.targets + ' sidecars (Istio\'s istio_requests_total, client side), rates over the last ' +
      traffic.windowSeconds + ' s' +
      (unreachable ? ' · ' + unreachable + ' not answering' : '') +
      (traffic.skipped ? ' · ' + traffic.skipped + ' not scraped (limit)' : '') +
      '. Dashed edges cross clusters through the destination\'s east-west gateway.'
    : 'Waiting for the first scrape of the sidecars\' metrics…';
  const clusterRows = traffic.clusters.map((edge) =>
    el('tr', { 'data-cluster-edge': edge.source + '->' + edge.destination, 'data-rps': String(edge.requestsPerSecond) },
      el('td', {}, edge.source), el('td', {}, edge.destination),
      el('td', {}, edge.source === edge.destination ? 'in cluster' : 'via ' + edge.destination + ' gateway'),
      el('td', { class: 'num' }, rate(edge.requestsPerSecond)),
      el('td', { class: 'num' }, percent(errorShare(edge)))));
  document.querySelector('#cluster-traffic tbody').replaceChildren(...clusterRows);
  const rows = traffic.edges.map((edge) =>
    el('tr', {},
      el('td', {}, edge.source.workload + ' (' + edge.source.cluster + ')'),
      el('td', {}, edge.destination.workload + ' (' + (edge.destination.cluster || '?') + ')'),
      el('td', {}, edge.service),
      el('td', { class: 'num' }, rate(edge.requestsPerSecond)),
      el('td', { class: 'num' }, percent(errorShare(edge)))));
  document.querySelector('#workload-traffic tbody').replaceChildren(...rows);
  drawTrafficGraph(view);
}

/**
 * Workloads in columns, one per cluster (ordered by region), with the cluster's gateway on top.
 * An edge within a cluster goes straight to the workload; one across clusters goes through the
 * destination cluster's gateway, dashed.
 */
function drawTrafficGraph(view) {
  const graph = document.getElementById('traffic-graph');
  const clusters = clusterOrder(view);
  const byName = Object.fromEntries(view.clusters.map((c) => [c.name, c]));
  const workloads = {};
  for (const name of clusters) {
    workloads[name] = new Set();
  }
  for (const proxy of view.proxies) {
    if (proxy.role === 'sidecar' && workloads[proxy.cluster]) {
      workloads[proxy.cluster].add(proxy.workload);
    }
  }
  for (const edge of view.traffic.edges) {
    for (const end of [edge.source, edge.destination]) {
      if (workloads[end.cluster] && end.workload && end.workload !== 'unknown') {
        workloads[end.cluster].add(end.workload);
      }
    }
  }
  const columnWidth = 230;
  const gap = 90;
  const rowHeight = 44;
  const top = 70;
  const tallest = Math.max(1, ...clusters.map((c) => workloads[c].size));
  const height = top + tallest * rowHeight + 30;
  graph.setAttribute('viewBox', `0 0 ${clusters.length * (columnWidth + gap)} ${height}`);
  graph.setAttribute('height', String(height));
  const positions = {};
  const layer = { columns: svg('g'), edges: svg('g'), nodes: svg('g'), labels: svg('g') };
  clusters.forEach((name, column) => {
    const x = column * (columnWidth + gap) + gap / 2;
    const cluster = byName[name];
    layer.columns.append(svg('rect', { class: 'column' + (cluster.state === 'up' ? '' : ' down'), x: String(x), y: '8',
      width: String(columnWidth), height: String(height - 16), rx: '10' }));
    layer.columns.append(svg('text', { class: 'title', x: String(x + 12), y: '28' }, name));
    layer.columns.append(svg('text', { class: 'subtitle', x: String(x + 12), y: '44' },
      cluster.region + (cluster.state === 'up' ? '' : ' · DOWN')));
    positions['gw:' + name] = { x: x + columnWidth - 50, y: 30, column, columnX: x };
    layer.nodes.append(node(x + columnWidth - 92, 16, 84, 'gateway', 'gateway'));
    [...workloads[name]].sort().forEach((workload, row) => {
      const y = top + row * rowHeight;
      positions[name + '/' + workload] = { x: x + 20, y: y + 14, right: x + columnWidth - 20, column };
      layer.nodes.append(node(x + 20, y, columnWidth - 40, workload, 'workload'));
    });
  });
  for (const edge of view.traffic.edges) {
    const from = positions[edge.source.cluster + '/' + edge.source.workload];
    const to = positions[edge.destination.cluster + '/' + edge.destination.workload];
    if (!from || !to) {
      continue;
    }
    const color = errorColor(errorShare(edge));
    const attrs = { class: 'edge' + (edge.crossCluster ? ' cross' : ''), stroke: color,
      'stroke-width': String(width(edge.requestsPerSecond)), 'stroke-opacity': '0.85',
      'data-source': edge.source.cluster + '/' + edge.source.workload,
      'data-destination': edge.destination.cluster + '/' + edge.destination.workload };
    let d;
    let labelAt;
    if (edge.crossCluster) {
      // Out of the source into the gap beside the destination's column, up to the lane under the
      // titles, into the gateway from below; then down the column's right margin to the workload.
      const gw = positions['gw:' + edge.destination.cluster];
      const right = gw.column > from.column;
      const dir = right ? 1 : -1;
      const r = 8;
      const startX = right ? from.right : from.x;
      const laneX = right ? gw.columnX - gap / 2 : gw.columnX + columnWidth + gap / 2;
      const laneY = 56;
      const margin = gw.columnX + columnWidth - 9;
      d = `M${startX},${from.y} L${laneX - r * dir},${from.y} Q${laneX},${from.y} ${laneX},${from.y - r}` +
        ` L${laneX},${laneY + r} Q${laneX},${laneY} ${laneX + r * dir},${laneY}` +
        ` L${gw.x - r * dir},${laneY} Q${gw.x},${laneY} ${gw.x},${laneY - 12}` +
        ` M${gw.x + 42},${gw.y} L${margin - r},${gw.y} Q${margin},${gw.y} ${margin},${gw.y + r}` +
        ` L${margin},${to.y - r} Q${margin},${to.y} ${margin - r},${to.y} L${to.right},${to.y}`;
      labelAt = { x: laneX - 10 * dir, y: (from.y + laneY) / 2, anchor: right ? 'end' : 'start' };
    } else {
      const bend = 40 + Math.abs(to.y - from.y) / 3;
      d = `M${from.right},${from.y} C${from.right + bend},${from.y} ${to.right + bend},${to.y} ${to.right},${to.y}`;
      labelAt = { x: from.right + bend * 0.75, y: (from.y + to.y) / 2, anchor: 'middle' };
    }
    layer.edges.append(svg('path', { ...attrs, d }));
    layer.labels.append(svg('text', { class: 'edge-label', x: String(labelAt.x), y: String(labelAt.y), fill: color,
      'text-anchor': labelAt.anchor }, rate(edge.requestsPerSecond) + ' rps'));
  }
  graph.replaceChildren(layer.columns, layer.edges, layer.nodes, layer.labels);
}

function node(x, y, w, text, kind) {
  const group = svg('g', { class: 'node ' + kind });
  group.append(svg('rect', { x: String(x), y: String(y), width: String(w), height: '28', rx: '6' }));
  group.append(svg('text', { x: String(x + 10), y: String(y + 18) }, text));
  return group;
}

function renderProxies(view) {
  const rows = [];
  for (const proxy of view.proxies) {
    const cells = ['LDS', 'RDS', 'CDS', 'EDS'].map((type) => {
      const status = proxy.types[type];
      const text = status ? status.state : '—';
      return el('td', { class: text.replace(' ', '_'), title: status ? 'sent ' + status.sent + ', acked ' + status.acked : '' }, text);
    });
    rows.push(el('tr', { 'data-proxy': proxy.id, 'data-state': proxy.state },
      el('td', {}, proxy.id), el('td', {}, proxy.cluster), el('td', {}, proxy.role),
      el('td', {}, proxy.workload), ...cells,
      el('td', {}, new Date(proxy.connectedAt).toLocaleTimeString())));
    for (const [type, status] of Object.entries(proxy.types)) {
      if (status.error) {
        rows.push(el('tr', { class: 'nack' },
          el('td', { colSpan: 9 }, type + ' version ' + status.nacked + ' rejected: ' + status.error)));
      }
    }
  }
  document.querySelector('#proxy-table tbody').replaceChildren(...rows);
}

function renderPolicies(view) {
  const policies = view.policies;
  document.getElementById('policy-note').textContent = !policies.available
    ? 'The policy store could not be read.'
    : policies.items.length
      ? 'Applied with fedmesh apply; "holding it" counts this replica\'s proxies whose acknowledged config includes the policy.'
      : 'No policies applied (fedmesh apply -f FILE).';
  document.querySelector('#policy-table tbody').replaceChildren(
    ...policies.items.map((p) =>
      el('tr', { 'data-policy': p.kind + '/' + p.namespace + '/' + p.name },
        el('td', {}, p.kind), el('td', {}, p.namespace || '—'), el('td', {}, p.name),
        el('td', { class: 'num' }, p.resourceVersion),
        el('td', {}, p.inMesh ? 'yes' : 'not yet'),
        el('td', { class: 'num' }, p.proxiesSynced + ' / ' + p.proxies,
          p.proxiesWaiting.length ? el('div', { class: 'waiting' }, 'waiting: ' + p.proxiesWaiting.join(', ') +
            (p.proxies - p.proxiesSynced > p.proxiesWaiting.length ? ', …' : '')) : null))));
  document.getElementById('policy-invalid').replaceChildren(
    ...policies.invalid.map((text) => el('li', {}, text)));
}

// ---- navigation ------------------------------------------------------------------------------

function show(view) {
  state.current = view;
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.dataset.view === view);
  }
  for (const section of document.querySelectorAll('.view')) {
    section.hidden = section.id !== 'view-' + view;
  }
  render();
}

for (const link of document.querySelectorAll('nav a')) {
  link.addEventListener('click', (event) => {
    event.preventDefault();
    show(link.dataset.view);
    history.replaceState(null, '', '#' + link.dataset.view);
  });
}
window.addEventListener('resize', () => state.view && drawClusterArcs(state.view));

takeTokenFromFragment();
if (['topology', 'traffic', 'proxies', 'policies'].includes(location.hash.slice(1))) {
  show(location.hash.slice(1));
}
stream();
refreshLab();
setInterval(() => state.lab.available && refreshLab(), 2000);
