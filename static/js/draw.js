/* Drawing on the frame, with a note: strokes (pen) and arrows over the picture.
 *
 * "✎ Draw" pauses the player and puts a transparent layer over the picture: drag to draw a
 * stroke, or with the arrow tool drag from the tail to the head. The strokes go into the note
 * form's hidden `drawing` field as JSON in picture coordinates (0–1 of its width and height, so
 * they land on the same spot at any player size; the server checks the same bounds, see
 * generations/drawing.py). Clicking a note that has a drawing seeks to its frame (player.js)
 * and shows the drawing there until the player plays again.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.DailiesDraw) return;

  const NS = "http://www.w3.org/2000/svg";
  const MAX_STROKES = 20;
  const MAX_POINTS = 200;
  const MIN_STEP = 0.004; // of the picture: skip points closer than this to the last one

  let strokes = []; // the note being written
  let active = false; // draw mode on
  let current = null; // the stroke under the pointer
  let shown = null; // a saved note's drawing on display

  const byId = (id) => document.getElementById(id);
  const video = () => byId("player");
  const layer = () => byId("drawing-overlay");

  // The picture inside the <video> box: object-fit contain letterboxes it.
  function picture(v) {
    const box = v.getBoundingClientRect();
    const vw = v.videoWidth, vh = v.videoHeight;
    if (!vw || !vh) return { x: 0, y: 0, width: box.width, height: box.height };
    const scale = Math.min(box.width / vw, box.height / vh);
    const width = vw * scale, height = vh * scale;
    return { x: (box.width - width) / 2, y: (box.height - height) / 2, width, height };
  }

  function place() {
    const v = video(), svg = layer();
    if (!v || !svg) return null;
    const p = picture(v);
    // CSSOM, not a style attribute: allowed by a strict Content-Security-Policy.
    svg.style.left = `${v.offsetLeft + p.x}px`;
    svg.style.top = `${v.offsetTop + p.y}px`;
    svg.style.width = `${p.width}px`;
    svg.style.height = `${p.height}px`;
    svg.setAttribute("viewBox", `0 0 ${p.width} ${p.height}`);
    return p;
  }

  function el(name, attrs) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function render(list) {
    const svg = layer();
    const p = place();
    if (!svg || !p) return;
    svg.replaceChildren();
    for (const stroke of list) {
      const pts = stroke.points.map(([x, y]) => [x * p.width, y * p.height]);
      const g = el("g", { class: `stroke ${stroke.kind}` });
      g.append(el("polyline", { points: pts.map((q) => q.join(",")).join(" ") }));
      if (stroke.kind === "arrow" && pts.length === 2) {
        const [[x0, y0], [x1, y1]] = pts;
        const angle = Math.atan2(y1 - y0, x1 - x0);
        const size = Math.max(10, Math.min(p.width, p.height) * 0.04);
        const wing = (a) => [x1 - size * Math.cos(angle + a), y1 - size * Math.sin(angle + a)];
        g.append(el("polygon", { points: [[x1, y1], wing(0.45), wing(-0.45)].map((q) => q.join(",")).join(" ") }));
      }
      svg.append(g);
    }
  }

  function sync() {
    const field = byId("note-drawing");
    if (field) field.value = strokes.length ? JSON.stringify(strokes) : "";
    const count = byId("draw-count");
    if (count) count.textContent = strokes.length ? `${strokes.length} stroke${strokes.length > 1 ? "s" : ""}` : "";
    const toggle = byId("draw-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", String(active));
    const svg = layer();
    if (svg) svg.classList.toggle("active", active);
  }

  function setActive(on) {
    active = on;
    if (on) {
      shown = null;
      const v = video();
      if (v) v.pause();
      if (window.DailiesNotes) DailiesNotes.fillTime();
    }
    sync();
    render(active || strokes.length ? strokes : shown || []);
  }

  function reset() {
    strokes = [];
    current = null;
    shown = null;
    setActive(false);
  }

  function point(event) {
    const box = layer().getBoundingClientRect();
    const clamp = (n) => Math.min(1, Math.max(0, n));
    return [
      Number(clamp((event.clientX - box.left) / box.width).toFixed(4)),
      Number(clamp((event.clientY - box.top) / box.height).toFixed(4)),
    ];
  }

  document.addEventListener("pointerdown", (event) => {
    if (!active || event.target.closest("#drawing-overlay") === null) return;
    if (strokes.length >= MAX_STROKES) return;
    event.preventDefault();
    layer().setPointerCapture(event.pointerId);
    const kind = (byId("draw-tool") || {}).value === "arrow" ? "arrow" : "line";
    const start = point(event);
    current = { kind, points: [start, start] };
    strokes.push(current);
    render(strokes);
  });

  document.addEventListener("pointermove", (event) => {
    if (!current) return;
    const p = point(event);
    if (current.kind === "arrow") {
      current.points[1] = p;
    } else {
      const last = current.points[current.points.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP) return;
      if (current.points.length >= MAX_POINTS) return;
      if (current.points.length === 2 && current.points[0] === current.points[1]) current.points[1] = p;
      else current.points.push(p);
    }
    render(strokes);
  });

  document.addEventListener("pointerup", () => {
    if (!current) return;
    current = null;
    sync();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("#draw-toggle")) { setActive(!active); return; }
    if (event.target.closest("#draw-clear")) { strokes = []; sync(); render([]); return; }
    const note = event.target.closest("[data-seek-frame]");
    if (note && !active) {
      // A saved note: show its drawing (or nothing) on its frame.
      shown = note.dataset.drawing ? JSON.parse(note.dataset.drawing) : null;
      render(shown || []);
    }
  });

  // Esc in the note box cancels the note, drawing included.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target.id === "note-text") reset();
  });

  // Playing again: the saved drawing belonged to one frame.
  document.addEventListener("play", (event) => {
    if (event.target.id === "player" && !active) { shown = null; render(strokes); }
  }, true);

  for (const type of ["loadedmetadata", "resize"]) {
    document.addEventListener(type, (event) => {
      if (event.target.id === "player") render(active || strokes.length ? strokes : shown || []);
    }, true);
  }
  window.addEventListener("resize", () => render(active || strokes.length ? strokes : shown || []));

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "review-stage") { reset(); return; } // another take
    if (target.id !== "notes-panel") return;
    if (event.detail.xhr && event.detail.xhr.status >= 400) sync(); // refused: keep the strokes
    else reset(); // saved with the note
  });

  window.DailiesDraw = { strokes: () => strokes, render, reset };
})();
