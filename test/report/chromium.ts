/**
 * Debian's chromium, driven headless through playwright-core over Chromium's DevTools pipe
 * (`--remote-debugging-pipe`): no browser is downloaded, the system's is used. MIXTURE_CHROMIUM
 * names another executable.
 */
import {existsSync} from 'node:fs'

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

/** The browser executable, or undefined. */
export function findChromium(): string | undefined {
  const named = process.env.MIXTURE_CHROMIUM
  if (named) return existsSync(named) ? named : undefined
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path))
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (findChromium() !== undefined) return undefined
  return process.env.MIXTURE_CHROMIUM
    ? `MIXTURE_CHROMIUM=${process.env.MIXTURE_CHROMIUM} does not exist`
    : `no chromium at ${CHROMIUM_CANDIDATES.join(', ')} (apt-get install chromium, or set MIXTURE_CHROMIUM)`
}
