/**
 * Loaded first by `npm test` (node --test --import, which every test process inherits): clears the
 * MIXTURE_* switches the caller's shell may have set (MIXTURE_WEBGPU_FUSED=0, MIXTURE_BACKEND=wasm,
 * MIXTURE_THREADS=1, ...), so that they change neither which tests run nor what they compute; a test
 * that needs a switch sets it itself. Kept: what says which suites must run and which devices may.
 */
const KEPT = new Set([
  'MIXTURE_REQUIRE', // suites that must not skip (test/require.ts)
  'MIXTURE_WEBGPU_ALLOW_SOFTWARE', // lets the WebGPU suites use a software adapter (bench/gpu/lavapipe.sh)
  'MIXTURE_CHROMIUM', // the browser the HTML report's test drives (test/report/chromium.ts)
])

for (const name of Object.keys(process.env)) {
  if (name.startsWith('MIXTURE_') && !KEPT.has(name)) delete process.env[name]
}
