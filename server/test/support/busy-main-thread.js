// Preloaded into the sidecar by tests (`node -r busy-main-thread.js lib/main.js`):
// SIGUSR2 sends its main thread into an endless computation, as a runaway
// synchronous call would. Signals then never reach its JavaScript handlers.
process.on('SIGUSR2', () => {
  for (;;) {
    // Busy for good.
  }
});
