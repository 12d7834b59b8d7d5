// A different pitch pattern per verdict (WebAudio, no files): a clerk hears the verdict
// without looking, and the patterns differ in rhythm as well as pitch.
const SOUNDS = {
  accept: { wave: "sine", notes: [[660, 0, 0.12], [990, 0.15, 0.22]] },
  warn: { wave: "triangle", notes: [[740, 0, 0.14], [740, 0.24, 0.14], [740, 0.48, 0.14]] },
  reject: { wave: "square", notes: [[220, 0, 0.32], [165, 0.42, 0.5]] },
  error: { wave: "square", notes: [[330, 0, 0.25]] },
};
let audio = null;

export function audioContext() {
  if (!audio) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    try {
      audio = new Ctx();
    } catch (err) {
      return null;
    }
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

export function playSound(kind) {
  const ctx = audioContext();
  const sound = SOUNDS[kind];
  // Until the first tap or key press the browser keeps the context suspended and its clock
  // stopped: notes scheduled now would all sound at once at the unlock, for a verdict long gone.
  if (!ctx || !sound || ctx.state !== "running") return;
  const start = ctx.currentTime + 0.02;
  for (const [freq, at, length] of sound.notes) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = sound.wave;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start + at);
    gain.gain.exponentialRampToValueAtTime(0.35, start + at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start + at);
    osc.stop(start + at + length + 0.02);
  }
}
