// The page's first script. On the first visit the service worker caches the whole app while
// this waits; app.js and its modules then come from that cache instead of being downloaded
// twice, once by the page and once by the precache (docs/benchmarks.md, the first visit).
// Installed, the worker already controls the page and the app starts at once.
import { controlled, registering } from "./register.js";

controlled(registering).finally(() => import("./app.js")).catch(() => {
  document.documentElement.dataset.socpass = "failed"; // the app's files could not be loaded
});
