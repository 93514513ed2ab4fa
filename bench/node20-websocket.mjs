// Preloaded into a baseline node older than 22 (BENCH_NODE_BASELINE, see
// run-ts.mjs): supabase-js refuses to create a client without a global
// WebSocket, which Node 22 brought. Insighter passed `ws` in its place while
// it ran on Node 20; this gives the old runtime the same, so it can still be
// measured against the new one. Realtime is never connected in a benchmark.
import WebSocket from 'ws';

globalThis.WebSocket ??= WebSocket;
