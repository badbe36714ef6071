// Liveness of a run folder's owner: a 'running' summary whose process is gone reads as 'crashed';
// on another host, where no pid can be probed, the heartbeat decides.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {ago, HEARTBEAT_STALE_MS, ownerState} from '../../src/run/owner.js'
import {liveStatus} from '../../src/run/status.js'

const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout)

test('same host: running while the pid lives, crashed once it is gone; other statuses as written', () => {
  assert.equal(liveStatus({status: 'running', pid: process.pid, host: hostname()}), 'running')
  assert.equal(liveStatus({status: 'running', pid: deadPid, host: hostname()}), 'crashed')
  assert.equal(liveStatus({status: 'completed', pid: deadPid, host: hostname()}), 'completed')
  assert.equal(liveStatus({status: 'running'}), 'running', 'older summaries without an owner cannot be judged')
  assert.equal(liveStatus({}), undefined)
})

test('another host: the heartbeat decides; without one the owner is unknown', () => {
  const now = Date.parse('2026-06-01T12:00:00Z')
  const fresh = new Date(now - 60_000).toISOString()
  const stale = new Date(now - HEARTBEAT_STALE_MS - 1000).toISOString()
  assert.equal(liveStatus({status: 'running', pid: 1, host: 'elsewhere.example', updated: fresh}, now), 'running')
  assert.equal(liveStatus({status: 'running', pid: 1, host: 'elsewhere.example', updated: stale}, now), 'crashed')
  assert.equal(ownerState({pid: 1, host: 'elsewhere.example'}), 'unknown')
  assert.equal(ago(3 * 3600e3), '3.0 h ago')
})
