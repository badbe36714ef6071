// Queued Slurm tasks and a sweep continued beside them (--force): a point a task holds stays the
// task's, with the record it was submitted with, and a grid may not move it to another position.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {markHeld} from '../../src/sweep/queued.js'
import type {SweepIndex, SweepPointRecord} from '../../src/sweep/records.js'

test('a task holding a point keeps the record it was submitted with, whatever the spec says now', () => {
  const record = (hash: string): SweepPointRecord => ({index: 0, key: 'p', label: 'P', spec: 'p.yaml', overrides: [`train.optimizer.lr=${hash}`], grid: {}, config_hash: hash, status: 'pending', run_dir: '01-p'})
  const previous = {name: 's', source: 's.yaml', created: '', updated: '', submissions: [{array_job: '7', table_job: '8', points: [0], submitted: '', script: ''}], points: [record('old')]} as SweepIndex
  const now = [record('new'), {...record('new'), index: 1, key: 'q', run_dir: '02-q'}]
  const said: string[] = []
  const held = markHeld([{id: '7_0', array: '7', task: 0, state: 'RUNNING', node: 'n1', reason: ''}], previous, now, (m) => said.push(m))
  assert.deepEqual([...held].map((r) => r.key), ['p'])
  assert.deepEqual([now[0].status, now[0].job, now[0].config_hash, now[0].overrides], ['submitted', '7_0', 'old', ['train.optimizer.lr=old']])
  assert.equal(now[1].status, 'pending', 'a point no task holds is left as it is')
  assert.match(said[0], /p: its task 7_0 was submitted with configuration old, not the changed one's \(new\), and is left to train that/)
})

test('a grid that would move a point a queued task holds to another position is refused: the task finds its point by position', () => {
  const record = (index: number, key: string): SweepPointRecord => ({index, key, label: key, spec: 's.yaml', overrides: [], grid: {}, config_hash: 'h', status: 'pending', run_dir: `0${index + 1}-${key}`})
  const previous = {name: 's', source: 's.yaml', created: '', updated: '', submissions: [{array_job: '7', table_job: '8', points: [0, 1], submitted: '', script: ''}], points: [record(0, 'a'), record(1, 'b')]} as SweepIndex
  const task = (n: number) => ({id: `7_${n}`, array: '7', task: n, state: 'PENDING', node: '', reason: ''})
  // A value inserted before b: b's folder stays 02-b, its position becomes 3.
  const moved = [record(0, 'a'), {...record(1, 'c'), run_dir: '03-c'}, {...record(2, 'b'), run_dir: '02-b'}]
  assert.throws(() => markHeld([task(1)], previous, moved, () => {}), /point 02-b is point 2 of the sweep for its queued task 7_1 and point 3 of this grid; a task finds its point by position/)
  // Only a's task is queued: a keeps its position, so the grid may go on.
  assert.deepEqual([...markHeld([task(0)], previous, moved, () => {})].map((r) => r.key), ['a'])
})
