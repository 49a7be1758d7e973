/* Synchronised playback for the compare page.
 *
 * The first video of the group leads: the bar's play/pause, frame steps and scrubber act on all
 * of them at once, and while playing, any follower that drifts more than a frame and a half
 * from the leader is put back on its time. The A/B wipe is a clip-path on the top video whose
 * width follows the slider (CSS variable --wipe), or a drag on the picture itself.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.DailiesCompare) return;

  const group = document.querySelector("[data-sync-group]");
  if (!group) return;
  const videos = Array.from(group.querySelectorAll("video[data-sync]"));
  const leader = videos[0];
  const followers = videos.slice(1);
  const scrub = document.getElementById("sync-scrub");
  const clock = document.getElementById("sync-time");
  const fps = parseFloat(leader.dataset.fps) || 24;
  const DRIFT = 1.5 / fps;

  function seekAll(t) {
    for (const v of videos) v.currentTime = Math.max(0, Math.min(t, v.duration || t));
  }

  function playAll() {
    // Align first, so every take starts from the same moment.
    seekAll(leader.currentTime);
    for (const v of videos) v.play().catch(() => {});
  }

  function pauseAll() {
    for (const v of videos) v.pause();
    seekAll(leader.currentTime);
  }

  function toggle() { if (leader.paused) playAll(); else pauseAll(); }

  function step(frames) {
    pauseAll();
    const frame = Math.max(0, Math.floor(leader.currentTime * fps + 1e-6) + frames);
    seekAll((frame + 0.5) / fps);
  }

  leader.addEventListener("timeupdate", () => {
    if (leader.duration) scrub.value = Math.round(1000 * leader.currentTime / leader.duration);
    clock.textContent = leader.currentTime.toFixed(3) + " s";
    if (leader.paused) return;
    for (const v of followers) {
      if (Math.abs(v.currentTime - leader.currentTime) > DRIFT) v.currentTime = leader.currentTime;
      if (v.paused && !v.ended) v.play().catch(() => {});
    }
  });
  // The leader ending pauses everyone, so they stay together for the next play.
  leader.addEventListener("ended", pauseAll);

  scrub.addEventListener("input", () => {
    if (!leader.duration) return;
    for (const v of videos) v.pause();
    seekAll(leader.duration * scrub.value / 1000);
  });

  group.addEventListener("click", (event) => {
    if (event.target.closest("[data-sync-toggle]")) toggle();
    const stepper = event.target.closest("[data-sync-step]");
    if (stepper) step(parseInt(stepper.dataset.syncStep, 10));
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input:not([type=range]), textarea, select")) return;
    if (event.key === " ") { event.preventDefault(); toggle(); }
    else if (event.key === ",") step(-1);
    else if (event.key === ".") step(1);
  });

  const wipe = document.getElementById("wipe");
  const slider = document.getElementById("wipe-slider");
  if (wipe && slider) {
    const apply = () => wipe.style.setProperty("--wipe", slider.value + "%");
    slider.addEventListener("input", apply);
    apply();
    // Drag on the picture itself: the line follows the pointer (the slider follows too, and
    // stays for the keyboard).
    let dragging = false;
    const follow = (event) => {
      const box = wipe.getBoundingClientRect();
      const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      slider.value = String(Math.round(share * 100));
      apply();
    };
    wipe.addEventListener("pointerdown", (event) => {
      dragging = true;
      wipe.setPointerCapture(event.pointerId);
      wipe.classList.add("dragging");
      event.preventDefault();
      follow(event);
    });
    wipe.addEventListener("pointermove", (event) => { if (dragging) follow(event); });
    for (const type of ["pointerup", "pointercancel"]) {
      wipe.addEventListener(type, () => { dragging = false; wipe.classList.remove("dragging"); });
    }
  }

  window.DailiesCompare = { videos, playAll, pauseAll, seekAll, step };
})();
