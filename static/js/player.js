/* Player helpers shared by the review queue and the take page.
 *
 * - shows the playhead as SMPTE timecode (HH:MM:SS:FF, non-drop-frame) and a frame number;
 * - a click on anything with data-seek-frame (note markers, note timecodes) seeks to the middle
 *   of that frame, (frame + 0.5) / fps, so rounding can never land on the previous frame;
 * - a click on the timeline seeks there.
 * The player is the <video id="player" data-fps="…"> on the page; it may be swapped by htmx,
 * so nothing here keeps a reference to it.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.Dailies) return;

  function player() { return document.getElementById("player"); }
  function fpsOf(video) { return parseFloat(video.dataset.fps) || 24; }

  // The frame on screen at the current time: the one whose interval [f/fps, (f+1)/fps) holds it.
  function frameAt(video) { return Math.max(0, Math.floor(video.currentTime * fpsOf(video) + 1e-6)); }

  function pad(n) { return String(n).padStart(2, "0"); }

  // Same rule as generations/timecode.py: 23.976 counts 24 frames per timecode second.
  function timecode(frame, fps) {
    const base = Math.max(1, Math.round(fps));
    const seconds = Math.floor(frame / base);
    return [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60, frame % base]
      .map(pad).join(":");
  }

  function seekFrame(video, frame) {
    video.pause();
    video.currentTime = (Math.max(0, frame) + 0.5) / fpsOf(video);
  }

  function showPosition(video) {
    const frame = frameAt(video);
    const tc = document.getElementById("timecode");
    const fn = document.getElementById("frame-number");
    const head = document.getElementById("playhead");
    if (tc) tc.textContent = timecode(frame, fpsOf(video));
    if (fn) fn.textContent = "frame " + frame;
    if (head && video.duration) head.style.left = (100 * video.currentTime / video.duration) + "%";
  }

  // Media events do not bubble, but they can be caught on the way down (capture).
  for (const type of ["timeupdate", "seeked", "loadedmetadata"]) {
    document.addEventListener(type, (event) => {
      if (event.target.id === "player") showPosition(event.target);
    }, true);
  }

  document.addEventListener("click", (event) => {
    const video = player();
    if (!video) return;
    const link = event.target.closest("[data-seek-frame]");
    if (link) {
      event.preventDefault();
      seekFrame(video, parseInt(link.dataset.seekFrame, 10));
      return;
    }
    const timeline = event.target.closest("#timeline");
    if (timeline && video.duration) {
      const box = timeline.getBoundingClientRect();
      video.currentTime = video.duration * Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    }
  });

  window.Dailies = { player, fpsOf, frameAt, timecode, seekFrame, showPosition };
})();
