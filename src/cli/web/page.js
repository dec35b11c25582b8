// The page of `vnetlab web`. Plain JS, no framework: every request carries
// the token the page was opened with (the server refuses it otherwise).
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const api = (path, params = {}) => path + "?" + new URLSearchParams({ token, ...params });
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// The diagram: Graphviz's SVG of `vnetlab graph`, each VM's node made clickable.
async function loadDiagram() {
  const box = $("#diagram");
  try {
    const r = await fetch(api("/api/graph"));
    if (!r.ok) throw new Error(await r.text());
    const d = await r.json();
    const vms = [];
    for (const v of d.graph.vnets) for (const s of v.subnets) for (const n of s.nodes) {
      if (n.kind === "Vm" || n.kind === "Nva") vms.push(n);
    }
    if (d.svg) {
      box.innerHTML = d.svg;
    } else {
      // No Graphviz: the nodes as a list, still clickable.
      box.replaceChildren(el("p", { class: "error" }, "no SVG: " + d.svgError),
        el("ul", {}, ...vms.map((n) => el("li", { "data-node": n.id }, n.name))));
    }
    for (const n of vms) {
      const g = [...box.querySelectorAll("g.node, li")].find((g) =>
        g.dataset.node === n.id || (g.querySelector("title") || {}).textContent === n.id);
      if (!g) continue;
      g.classList.add("vm");
      g.setAttribute("data-vm", n.name);
      g.addEventListener("click", () => showVm(n.name));
    }
    $("#machines").replaceChildren(...["Internet", ...vms.map((n) => n.name)].map((v) => el("option", { value: v })));
  } catch (e) {
    box.replaceChildren(el("p", { class: "error" }, "diagram: " + e.message));
  }
}

// A VM's effective routes and NSG rules, as the az commands print them.
async function showVm(name) {
  $("#vm-box").hidden = false;
  $("#vm-name").textContent = name;
  for (const g of document.querySelectorAll("#diagram .vm")) g.classList.toggle("selected", g.dataset.vm === name);
  const out = $("#vm-out");
  out.textContent = "loading…";
  const r = await fetch(api("/api/vm", { name }));
  if (!r.ok) { out.replaceChildren(el("p", { class: "error" }, await r.text())); return; }
  const d = await r.json();
  out.replaceChildren(el("p", {}, "Power state: " + d.powerState + "  ",
    el("a", { class: "capture", href: api("/api/capture", { target: d.name, seconds: 10 }), download: "" },
      "capture 10 s (pcapng)")));
  for (const nic of d.nics) {
    out.append(el("h3", {}, "NIC " + nic.name));
    for (const [what, part] of [["Effective routes", nic.routes], ["Effective NSG rules", nic.nsg]]) {
      out.append(el("h4", {}, what, " ", el("code", {}, part.command)));
      out.append(part.table !== null ? el("pre", { class: what === "Effective routes" ? "routes" : "nsg" }, part.table)
        : el("pre", { class: "error" }, part.error));
    }
  }
}

// Counters: the lab's status about once a second, as server-sent events.
const last = new Map();
function cell(key, value, rate) {
  const td = el("td", { class: "num" }, value);
  const before = last.get(key);
  if (before !== undefined && value > before.value) td.classList.add("moved");
  const now = performance.now();
  if (rate) {
    const per = before ? ((value - before.value) * 1000) / Math.max(1, now - before.at) : 0;
    rate.textContent = per.toFixed(1);
  }
  last.set(key, { value, at: now });
  return td;
}

function showStatus(s) {
  $("#state").textContent = `generation ${s.generation} · daemon pid ${s.pid} · ${new Date().toLocaleTimeString()}`;
  $("#state").classList.remove("bad");
  $("#peerings tbody").replaceChildren(...s.peerings.map((p) => {
    const key = `${p.vnet}/${p.name}`;
    const rate = el("td", { class: "num rate" });
    const carried = cell("p:" + key, p.carried.packets, rate);
    carried.classList.add("carried");
    const cap = el("a", { class: "capture", href: api("/api/capture", { target: key, seconds: 10 }), download: "" },
      "capture 10 s");
    return el("tr", { "data-peering": key }, el("td", {}, p.vnet), el("td", {}, p.name), el("td", {}, p.remoteVnet),
      el("td", {}, p.peeringState), carried, rate, cell("pd:" + key, p.dropped), el("td", {}, cap));
  }));
  const rows = [];
  for (const vm of [...s.vms, ...s.sites.flatMap((x) => [x.router, x.host])]) {
    for (const n of vm.nics) {
      const key = `${vm.name}/${n.name}`;
      const tr = el("tr", { "data-nic": key, class: "vm-row" }, el("td", {}, vm.name), el("td", {}, n.name),
        el("td", {}, n.privateIp), el("td", {}, n.publicIp || ""), el("td", {}, vm.powerState),
        cell("tx:" + key, n.tx.packets), cell("rx:" + key, n.rx.packets), cell("d:" + key, n.dropped));
      tr.addEventListener("click", () => showVm(vm.name));
      rows.push(tr);
    }
  }
  $("#nics tbody").replaceChildren(...rows);
}

function fault(where, m) {
  $(where).textContent = m;
  $(where).classList.add("bad");
}

const counters = new EventSource(api("/api/counters"));
counters.addEventListener("status", (e) => showStatus(JSON.parse(e.data)));
counters.addEventListener("fault", (e) => fault("#state", JSON.parse(e.data).message));
counters.onerror = () => fault("#state", "the page's server went away (vnetlab web stopped?)");

// Drops: the daemon's drop stream, newest first, the last 200.
const drops = new EventSource(api("/api/drops"));
drops.addEventListener("attached", () => { $("#drops-state").textContent = "(live)"; });
drops.addEventListener("fault", (e) => { $("#drops-state").textContent = JSON.parse(e.data).message; });
drops.addEventListener("drop", (e) => {
  const d = JSON.parse(e.data);
  const t = new Date(d.time * 1000).toLocaleTimeString();
  const li = el("li", {}, el("span", {}, `${t}  ${d.from}  `), el("span", { class: "flow" }, d.flow), "  ",
    el("span", { class: "reason" }, d.reason));
  const list = $("#drops");
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
});

// Explain: the verdict for a probe packet, with its chain of reasons.
$("#explain").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const out = $("#explain-out");
  out.textContent = "…";
  const r = await fetch(api("/api/explain", Object.fromEntries(f)));
  out.classList.toggle("error", !r.ok);
  out.textContent = r.ok ? (await r.json()).text : await r.text();
});

loadDiagram();
