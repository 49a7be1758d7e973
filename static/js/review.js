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

  // A request from the stage is in flight: ignore commands until the next take is in.
  function busy() {
    return !!document.querySelector("#review-stage.htmx-request, #review-stage .htmx-request");
  }

  function click(id) {
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

  function toggleHelp() {
    const help = byId("help");
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help-open]")) toggleHelp();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape" && event.target.id === "note-text") {
        event.target.value = "";
        event.target.blur();
      }
      return;
    }
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (byId("help").open) return; // the dialog handles Esc itself
    const stage = byId("review-stage");
    if (!stage || !stage.dataset.takeId) return;
    const video = Dailies.player();
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    let handled = true;
    switch (key) {
      case "a":
        if (!event.repeat && !busy()) click("verdict-accept");
        break;
      case "r":
        if (!event.repeat && !busy()) click("verdict-reject");
        break;
      case "u":
        if (!event.repeat && !busy()) click("undo-button");
        break;
      case "j":
        if (!busy()) click("queue-prev");
        break;
      case "k":
        if (!busy()) click("queue-next");
        break;
      case "n":
        startNote(video);
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
      default: {
        const box = /^[1-9]$/.test(key) && stage.querySelector(`input[data-key="${key}"]`);
        if (box) box.checked = !box.checked;
        else handled = false;
      }
    }
    if (handled) event.preventDefault();
  });

  // A new take swapped in: play it (muted autoplay is allowed without a user gesture).
  let shown = byId("review-stage")?.dataset.takeId;
  document.addEventListener("htmx:afterSettle", () => {
    const takeId = byId("review-stage")?.dataset.takeId;
    if (takeId === shown) return;
    shown = takeId;
    const video = Dailies.player();
    if (video) video.play().catch(() => {});
  });
})();
