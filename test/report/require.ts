/**
 * Suites that need something the machine may lack (a browser, a GPU, a dataset) skip without it,
 * saying why — unless MIXTURE_REQUIRE lists it (comma-separated, e.g. `MIXTURE_REQUIRE=chromium`):
 * then they run, and fail saying what is missing, so that CI cannot pass by skipping.
 */
export function isRequired(name: string): boolean {
  return (process.env.MIXTURE_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .includes(name.toLowerCase())
}

/** The `skip` option of a suite that needs `name`: false when present or required, else why it skips. */
export function skipUnless(name: string, missing: string | undefined): string | false {
  if (missing === undefined || isRequired(name)) return false
  return `${missing} (MIXTURE_REQUIRE=${name} makes this a failure)`
}
