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

  // While a request of the stage is out (or its answer is settling in), commands typed ahead
  // wait in `pending` and run, in order, once that answer is in: a fast reviewer loses no key.
  // The queue waits for that one request (its XMLHttpRequest), not for any settle: one answer
  // settles twice (the stage, and the crumbs swapped out of band), and the second settle used
  // to run the next key while the first key's request was still out, on the same take.
  let waiting = null; // the request the typed-ahead keys wait for
  let swapped = false; // whether its answer has swapped in (one that swaps nothing never settles)
  const pending = []; // keys, and notes typed ahead as {text, submit}
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

  // A note typed ahead: the box gets its text, and Enter (if typed) saves it.
  function noteAhead(note) {
    startNote(Dailies.player());
    const text = byId("note-text");
    const form = byId("note-form");
    if (!text || !form) return;
    text.value = note.text;
    if (note.submit) {
      htmx.process(form);
      form.requestSubmit();
    }
  }

  // Keys typed after a queued N are that note's text (Enter saves it, Esc drops it), not
  // shortcuts: the "a" and "r" of "warps at the end" must not judge takes on their way to the box.
  function typeInto(note, event) {
    const key = event.key;
    if (key === "Enter") note.submit = true;
    else if (key === "Escape") pending.pop();
    else if (key === "Backspace") note.text = note.text.slice(0, -1);
    else if (key.length === 1) note.text += key;
    else return;
    event.preventDefault();
  }

  // Commands on the take on screen: verdicts, tags, navigation, undo, notes.
  function stageCommand(key) {
    const stage = byId("review-stage");
    if (!stage || !stage.dataset.takeId) return;
    if (typeof key === "object") { noteAhead(key); return; }
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
    const last = pending.at(-1);
    if (typeof last === "object" && !last.submit) { typeInto(last, event); return; }
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
          if (!waiting) stageCommand(key);
          else pending.push(key === "n" ? { text: "", submit: false } : key);
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

  // Requests of the stage (a verdict, undo, J/K, a note) hold the keys typed after them;
  // a request of anything else on the page does not.
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!byId("review-stage")?.contains(event.detail.elt)) return;
    waiting = event.detail.xhr;
    swapped = false;
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.xhr === waiting) swapped = true;
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.xhr !== waiting) return;
    // A refused act (a stale verdict, a bad note) or a failure: the keys typed after it were
    // meant for what it would have shown; drop them. An answer that swapped nothing (a 5xx, a
    // network error) never settles: stop waiting for it.
    const xhr = waiting;
    if ((xhr.status || 0) >= 400 || !swapped) pending.length = 0;
    if (!swapped) waiting = null;
    // An answer swapped into a panel that another answer has replaced since settles outside
    // the document, unseen here: don't wait for it forever (its settle is due in ~20 ms).
    else setTimeout(() => { if (waiting === xhr) release(); }, 1000);
  });

  // A new take swapped in and bound by htmx: play it (muted autoplay needs no gesture). Once
  // the answer the queue waits for has settled, run the commands typed ahead, stopping when one
  // of them sends a request.
  let shown = byId("review-stage")?.dataset.takeId;
  document.addEventListener("htmx:afterSettle", (event) => {
    const takeId = byId("review-stage")?.dataset.takeId;
    if (takeId !== shown) {
      shown = takeId;
      const video = Dailies.player();
      if (video) video.play().catch(() => {});
    }
    if (waiting && event.detail.xhr === waiting) release();
  });

  function release() {
    waiting = null;
    while (pending.length && !waiting) stageCommand(pending.shift());
  }
})();
