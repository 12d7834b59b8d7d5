// The service worker's registration, made once per page (boot.js and app.js share it).
const UPDATE_KEY = "socpass.app.update_reload";

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  let registration;
  try {
    registration = await navigator.serviceWorker.register("sw.js", { scope: "./", updateViaCache: "none" });
  } catch (err) {
    return null; // http:// beyond localhost, or a private window: the app works while online
  }
  // An update downloaded during an earlier session waits; at this start, before any scan,
  // it takes over (one reload). Never later: a clerk's queue is not interrupted by an update.
  if (registration.waiting && navigator.serviceWorker.controller && !sessionStorage.getItem(UPDATE_KEY)) {
    sessionStorage.setItem(UPDATE_KEY, "1");
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    registration.waiting.postMessage({ type: "SKIP_WAITING" });
  } else {
    sessionStorage.removeItem(UPDATE_KEY);
  }
  return registration;
}

// On the first visit, the worker caches the app while the page waits (boot.js): the app's
// modules, and the decoder's .wasm (most of the app's bytes), come from that cache, once.
export async function controlled(registering) {
  const registration = await registering;
  if (!registration || navigator.serviceWorker.controller) return;
  await new Promise((resolve) => {
    navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
    setTimeout(resolve, 20000); // a worker that cannot install must not keep the app off
  });
}

export const registering = registerWorker();
