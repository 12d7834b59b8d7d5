// Live camera scanning: each frame is drawn on a canvas and handed to hooks.scanFrame while
// nothing is found, the first one as soon as the camera shows it. A code left in front of the
// camera is one scan: the engine answers "same" for frames that still show the code it just
// gave a verdict for (the server page: X-Socpass-Seen / ?skip=, see static/scanner-server.js;
// the offline app: the last decoded text), and forgets it when a frame without a code arrives.

// Between one frame's answer and the next frame: hooks.frameGapMs where the engine says (the
// offline app decodes in a worker of its own, with no server to spare), else this.
const FRAME_GAP_MS = 120;
const MAX_FRAME_WIDTH = 1280;

// hooks: setState(key, state) for the line under the viewfinder ("scanning", "error"),
//        frameGapMs (optional): the pause between frames,
//        onResult(result) when a frame held a code (not called while paused),
//        scanFrame(canvas) -> Promise of {kind: "none"} (no code), {kind: "same"} (the code
//        already shown), {kind: "result", result}, {kind: "unreachable"} (try again later) or
//        {kind: "unavailable"} (no image decoding here: the camera stops).
export function createCamera(video, hooks) {
  const camera = {
    stream: null,
    paused: false,
    looping: false,
    skip: null,
    wake: null,
    canvas: document.createElement("canvas"),

    async start() {
      if (!window.isSecureContext) return hooks.setState("camera_insecure", "error");
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        return hooks.setState("camera_absent", "error");
      }
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({
          audio: false,
          video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
        });
      } catch (err) {
        const name = err && err.name;
        if (name === "NotAllowedError" || name === "SecurityError") return hooks.setState("camera_denied", "error");
        if (name === "NotFoundError" || name === "OverconstrainedError") return hooks.setState("camera_absent", "error");
        if (name === "NotReadableError" || name === "AbortError") return hooks.setState("camera_busy", "error");
        return hooks.setState("camera_failed", "error");
      }
      video.srcObject = this.stream;
      const begin = () => {
        if (this.looping) return;
        hooks.setState(this.paused ? "camera_paused" : "camera_scanning", "scanning");
        this.loop();
      };
      // The first frame goes out as soon as there is one: no initial wait.
      if (typeof video.requestVideoFrameCallback === "function") video.requestVideoFrameCallback(begin);
      video.addEventListener("loadeddata", begin, { once: true });
      video.play().catch(() => {});
    },

    pause() {
      this.paused = true;
      if (this.stream) hooks.setState("camera_paused", "scanning");
    },

    resume() {
      this.paused = false;
      if (this.stream) hooks.setState("camera_scanning", "scanning");
      if (this.wake) this.wake();
    },

    sleep(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => { this.wake = null; resolve(); }, ms);
        this.wake = () => { clearTimeout(timer); this.wake = null; resolve(); };
      });
    },

    grab() {
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (!w || !h) return null;
      const scale = Math.min(1, MAX_FRAME_WIDTH / w);
      this.canvas.width = Math.round(w * scale);
      this.canvas.height = Math.round(h * scale);
      this.canvas.getContext("2d", { willReadFrequently: true })
        .drawImage(video, 0, 0, this.canvas.width, this.canvas.height);
      return this.canvas;
    },

    async loop() {
      this.looping = true;
      while (this.stream) {
        if (this.paused) {
          await this.sleep(60000); // until resume() wakes it
          continue;
        }
        const canvas = this.grab();
        if (!canvas) {
          await this.sleep(50);
          continue;
        }
        let answer;
        try {
          answer = await hooks.scanFrame(canvas);
        } catch (err) {
          answer = { kind: "unreachable" };
        }
        if (answer.kind === "result") {
          if (!this.paused) hooks.onResult(answer.result);
          continue;
        }
        if (answer.kind === "unreachable") {
          hooks.setState("server_unreachable", "error");
          await this.sleep(2000);
          continue;
        }
        if (answer.kind === "unavailable") {
          hooks.setState("scanner_unavailable", "error");
          this.stream.getTracks().forEach((track) => track.stop());
          this.stream = null;
          break;
        }
        if (answer.kind === "none" && !this.paused) hooks.setState("camera_scanning", "scanning");
        await this.sleep(hooks.frameGapMs ?? FRAME_GAP_MS);
      }
      this.looping = false;
    },
  };
  return camera;
}
