/* The review queue's keyboard. Every shortcut clicks or fills the same controls a mouse uses,
 * so the keyboard, the mouse and the no-JavaScript form all take one path to the server.
 *
 *   A / R      accept / reject (then htmx swaps in the next take and pushes its URL)
 *   1–9        toggle the failure tags bound to those keys (order: the project's setting)
 *   N          note at the playhead: pauses, fills the time, focuses the text (Enter saves)
 *   Space      play / pause          ← / →  one second back / forward
 *   , / .      one frame back / forward at the take's fps
 *   J / K      previous / next take  U  undo the last verdict   ?  help
 *
 * No shortcut fires while the focus is in a text field, a select or a text area.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.DailiesReview) return;
  window.DailiesReview = true;

  const byId = (id) => document.getElementById(id);

  // Our error responses (a stale verdict: 409, a bad note: 400) carry a page fragment that
  // explains the problem: swap them in like successes instead of dropping them.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "4..", swap: true, error: true },
    { code: "...", swap: false, error: true },
  ];

  function isTyping(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable || target.closest("textarea, select")) return true;
    const input = target.closest("input");
    return !!input && !["checkbox", "radio", "button", "submit", "reset", "range"].includes(input.type);
  }

  // While a request is out (or its answer is settling in), stage commands typed ahead wait in
  // `pending` and run, in order, once the next take is in: a fast reviewer loses no key.
  let inflight = false;
  const pending = [];
  const STAGE_KEYS = /^[arujkn1-9]$/;

  function click(id) {
    // htmx binds swapped-in content when it settles (~20 ms after the swap); a fast key can
    // come first. process() binds now (it is idempotent), so the click always goes via htmx.
    const stage = byId("review-stage");
    if (stage) htmx.process(stage);
    const element = byId(id);
    if (element) element.click();
    return !!element;
  }

  function startNote(video) {
    const seconds = byId("note-seconds");
    const text = byId("note-text");
    if (!seconds || !text) return;
    // The note goes at the start of the frame on screen: the server's frame_at() rounds the
    // time back to exactly this frame.
    let frame = 0;
    if (video) {
      video.pause();
      frame = Dailies.frameAt(video);
      seconds.value = (frame / Dailies.fpsOf(video)).toFixed(3);
    }
    text.focus();
  }

  // Commands on the take on screen: verdicts, tags, navigation, undo, notes.
  function stageCommand(key) {
    const stage = byId("review-stage");
    if (!stage || !stage.dataset.takeId) return;
    if (key === "a") click("verdict-accept");
    else if (key === "r") click("verdict-reject");
    else if (key === "u") click("undo-button");
    else if (key === "j") click("queue-prev");
    else if (key === "k") click("queue-next");
    else if (key === "n") startNote(Dailies.player());
    else {
      const box = stage.querySelector(`input[data-key="${key}"]`);
      if (box) box.checked = !box.checked;
    }
  }

  function toggleHelp() {
    const help = byId("help");
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help-open]")) toggleHelp();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return; // Esc in the note box: notes.js
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (byId("help").open) return; // the dialog handles Esc itself
    const stage = byId("review-stage");
    if (!stage || !stage.dataset.takeId) return;
    const video = Dailies.player();
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (!STAGE_KEYS.test(key) && pending.length) return; // keep the typed-ahead order
    let handled = true;
    switch (key) {
      case "a": case "r": case "u": case "j": case "k": case "n":
      case "1": case "2": case "3": case "4": case "5": case "6": case "7": case "8": case "9":
        if (!(event.repeat && "aru".includes(key))) {
          if (inflight) pending.push(key); else stageCommand(key);
        }
        break;
      case " ":
        if (video) { if (video.paused) video.play(); else video.pause(); }
        break;
      case "ArrowLeft":
      case "ArrowRight":
        if (video) {
          const step = key === "ArrowLeft" ? -1 : 1;
          video.currentTime = Math.min(video.duration || 0, Math.max(0, video.currentTime + step));
        }
        break;
      case ",":
      case ".":
        if (video) Dailies.seekFrame(video, Dailies.frameAt(video) + (key === "," ? -1 : 1));
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("htmx:beforeRequest", () => { inflight = true; });
  // A failed request that swaps nothing: drop what was typed ahead for it.
  for (const type of ["htmx:sendError", "htmx:timeout"]) {
    document.addEventListener(type, () => { inflight = false; pending.length = 0; });
  }
  document.addEventListener("htmx:afterRequest", (event) => {
    const status = event.detail.xhr?.status || 0;
    // A refused note: the keys typed after Enter were meant for a take with that note saved.
    const noteRefused = event.detail.elt.id === "note-form" && status >= 400;
    if ((event.detail.failed && status >= 500) || noteRefused) {
      inflight = false;
      pending.length = 0;
    }
  });

  // A new take swapped in and bound by htmx: play it (muted autoplay needs no gesture), then run
  // the commands typed ahead, stopping when one of them sends a request.
  let shown = byId("review-stage")?.dataset.takeId;
  document.addEventListener("htmx:afterSettle", () => {
    inflight = false;
    const takeId = byId("review-stage")?.dataset.takeId;
    if (takeId !== shown) {
      shown = takeId;
      const video = Dailies.player();
      if (video) video.play().catch(() => {});
    }
    while (pending.length && !inflight) stageCommand(pending.shift());
  });
})();
