// The HTTP load generator, in its own process so that it does not take CPU
// from the sidecar's event loop: autocannon against one URL, with every
// response's latency recorded (autocannon's own summary has no p95).
// Prints one JSON line: {errors, latencies: [ms, …]}.
import autocannon from 'autocannon';

const [url, token, connections, seconds] = process.argv.slice(2);
const latencies = [];
const instance = autocannon(
  {
    url,
    connections: Number(connections),
    duration: Number(seconds),
    headers: { authorization: `Bearer ${token}` }
  },
  (err, result) => {
    if (err) {
      console.error(err);
      process.exit(1);
    }
    process.stdout.write(
      JSON.stringify({
        errors: result.non2xx + result.errors + result.timeouts,
        latencies: latencies.map(ms => Math.round(ms * 100) / 100)
      }) + '\n'
    );
  }
);
instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
