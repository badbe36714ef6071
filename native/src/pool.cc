#include "pool.h"
#include <chrono>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() std::this_thread::yield()
#endif

// How long an idle worker keeps polling for the next job before it sleeps.
static const auto kSpin = std::chrono::microseconds(50);

ThreadPool& pool() {
  static ThreadPool p;
  return p;
}

ThreadPool::~ThreadPool() { resize(1); }

void ThreadPool::resize(int n) {
  if (n < 1) n = 1;
  if ((int)workers_.size() == n - 1) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_ = false;
  for (int i = 0; i < n - 1; i++) workers_.emplace_back([this] { loop(); });
}

void ThreadPool::work(Job& job) {
  int64_t i;
  while ((i = job.next.fetch_add(1, std::memory_order_relaxed)) < job.n) {
    job.call(job.ctx, i);
    job.done.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::dispatch(int64_t n, void (*call)(void*, int64_t), void* ctx) {
  auto job = std::make_shared<Job>();
  job->call = call;
  job->ctx = ctx;
  job->n = n;
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = job;
    epoch_.fetch_add(1, std::memory_order_release);
    if (sleepers_ > 0) cv_.notify_all();
  }
  work(*job);
  // Only chunks a worker has already claimed can be outstanding here.
  int spins = 0;
  while (job->done.load(std::memory_order_acquire) < n) {
    if (++spins < 2000) CPU_RELAX();
    else std::this_thread::yield();
  }
}

void ThreadPool::loop() {
  uint64_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    auto start = std::chrono::steady_clock::now();
    int polls = 0;
    while (epoch_.load(std::memory_order_acquire) == seen) {
      CPU_RELAX();
      if ((++polls & 63) == 0 && std::chrono::steady_clock::now() - start > kSpin) {
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_++;
        cv_.wait(lk, [&] { return stop_ || epoch_.load(std::memory_order_acquire) != seen; });
        sleepers_--;
        if (stop_) return;
      }
      if (stop_) return;
    }
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stop_) return;
      job = job_;
      seen = epoch_.load(std::memory_order_acquire);
    }
    if (job) work(*job);
  }
}
