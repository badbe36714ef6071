// A small thread pool whose caller takes part in the work and never waits for a worker that has not
// started: chunks are claimed from a shared counter, so when the machine is busy and a worker is not
// scheduled, the calling thread simply does every chunk itself. (OpenMP's fork/join would instead
// block at the closing barrier until every team thread has run.) oneDNN keeps its own OpenMP threads.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

class ThreadPool {
 public:
  ~ThreadPool();
  // Total threads including the caller (n - 1 workers).
  void resize(int n);
  int size() const { return (int)workers_.size() + 1; }

  // Calls f(i) for i in [0, n), spread over the caller and the workers; returns when all are done.
  template <class F>
  void run(int64_t n, F&& f) {
    if (n <= 0) return;
    if (n == 1 || workers_.empty()) {
      for (int64_t i = 0; i < n; i++) f(i);
      return;
    }
    dispatch(n, [](void* ctx, int64_t i) { (*static_cast<F*>(ctx))(i); }, &f);
  }

 private:
  struct Job {
    void (*call)(void*, int64_t);
    void* ctx;
    int64_t n;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
  };
  void dispatch(int64_t n, void (*call)(void*, int64_t), void* ctx);
  void work(Job& job);
  void loop();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Job> job_;
  std::atomic<uint64_t> epoch_{0};
  int sleepers_ = 0;
  std::atomic<bool> stop_{false};
};

ThreadPool& pool();
