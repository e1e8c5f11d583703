//! Answers written together: a connection's answer goes out once its worker thread has run the
//! other tasks that were ready, instead of the moment it is made.
//!
//! Writing an answer wakes the thread that waits for it. When a worker answers the requests of
//! many connections one after the other, as it does under load, each answer used to wake the
//! sender (a client on the same machine, a proxy) for that one answer, and the woken thread
//! often took the core from the worker in the middle of the next request. Measured on two cores
//! with wrk on the same machine, the sidecar was preempted once every three requests, against
//! once every forty for a hello-world axum server that spends less time on each request.
//!
//! [`Coalesce`] wraps a connection. The first write of an answer waits, with
//! [`tokio::task::yield_now`], until the worker has polled the tasks that were ready and its
//! I/O driver: tokio wakes such deferred tasks when its queue is empty, and at the latest every
//! `event_interval` (61) tasks. The answers made in the meantime then go out back to back, and the
//! sender wakes once for several of them. Nothing is copied or buffered here: the write is only
//! held back, and then passed through. When the worker has nothing else to do the wait is one
//! pass of the driver.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose answers are written after the worker's other ready tasks have run.
pub struct Coalesce<S> {
    io: S,
    wait: Wait,
}

/// Where the answer being written is in its wait.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// Not started: the next write waits.
    Before,
    /// The task has handed its waker to tokio's deferred wake-ups: its next poll writes.
    Deferred,
    /// Waited: write through until the answer is flushed.
    Done,
}

impl<S> Coalesce<S> {
    pub fn new(io: S) -> Coalesce<S> {
        Coalesce {
            io,
            wait: Wait::Before,
        }
    }

    /// Ready once this answer has waited for the worker's other ready tasks. `yield_now`'s
    /// first poll hands the waker to tokio (outside a runtime it wakes the task at once) and its
    /// second is ready whatever woke the task; the state here is that second poll, so no future
    /// is kept (its type cannot be named, and boxing it cost an allocation per answer).
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.wait {
            Wait::Before => {
                if std::pin::pin!(tokio::task::yield_now())
                    .poll(cx)
                    .is_pending()
                {
                    self.wait = Wait::Deferred;
                    return Poll::Pending;
                }
                self.wait = Wait::Done;
            }
            Wait::Deferred => self.wait = Wait::Done,
            Wait::Done => {}
        }
        Poll::Ready(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesce<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(me.wait(cx));
        Pin::new(&mut me.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(me.wait(cx));
        Pin::new(&mut me.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    /// The answer is out: the next one waits again. A flush before the answer's first write
    /// (while it waits) leaves the wait as it is: the write that follows is not held back twice.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(Pin::new(&mut me.io).poll_flush(cx))?;
        if let Wait::Done = me.wait {
            me.wait = Wait::Before;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A TCP listener whose connections are [`Coalesce`]d, for `axum::serve`.
pub struct Listener(pub tokio::net::TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Coalesce<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (Coalesce::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;

    /// A writer that notes each write in a shared log, and can refuse the first `busy` writes
    /// (Pending, as a full socket does).
    struct Logged {
        name: usize,
        log: Arc<Mutex<Vec<String>>>,
        busy: usize,
    }

    impl AsyncWrite for Logged {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            let me = self.get_mut();
            if me.busy > 0 {
                me.busy -= 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let text = String::from_utf8_lossy(data);
            me.log
                .lock()
                .unwrap()
                .push(format!("write {} {text}", me.name));
            Poll::Ready(Ok(data.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// `n` tasks that each make an answer and write it, on one worker thread.
    fn answers(n: usize, busy: usize) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|name| {
                    let log = log.clone();
                    tokio::spawn(async move {
                        let mut c = Coalesce::new(Logged {
                            name,
                            log: log.clone(),
                            busy,
                        });
                        for round in 0..2 {
                            log.lock().unwrap().push(format!("made {name}.{round}"));
                            c.write_all(format!("answer {name}.{round}").as_bytes())
                                .await
                                .unwrap();
                            c.flush().await.unwrap();
                        }
                        c.shutdown().await.unwrap();
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        Arc::try_unwrap(log).unwrap().into_inner().unwrap()
    }

    /// Where `line` is in `log`.
    fn at(log: &[String], line: &str) -> usize {
        log.iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} is not in {log:?}"))
    }

    /// Every answer of `n` tasks is written once, in each task's order.
    fn all_written(log: &[String], n: usize) {
        assert_eq!(log.len(), 4 * n, "{log:?}");
        for t in 0..n {
            assert!(
                at(log, &format!("write {t} answer {t}.0"))
                    < at(log, &format!("write {t} answer {t}.1"))
            );
        }
    }

    #[test]
    fn answers_made_together_are_written_after_all_are_made() {
        let log = answers(3, 0);
        all_written(&log, 3);
        // The three tasks were ready together: each made its first answer before any was
        // written. Their second answers, made as the first ones went out, were all made before
        // any of them was written.
        for made in 0..3 {
            for written in 0..3 {
                for round in 0..2 {
                    assert!(
                        at(&log, &format!("made {made}.{round}"))
                            < at(&log, &format!("write {written} answer {written}.{round}")),
                        "{log:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_full_connection_still_gets_every_answer_in_order() {
        // Each connection refuses its first two writes (Pending): the answer has waited for the
        // other task once, and then retries its write as often as the connection asks.
        let log = answers(2, 2);
        all_written(&log, 2);
        for t in 0..2 {
            assert!(at(&log, &format!("made {t}.0")) < at(&log, "write 0 answer 0.0"));
            assert!(at(&log, &format!("made {t}.0")) < at(&log, "write 1 answer 1.0"));
        }
    }

    #[test]
    fn a_flush_while_the_answer_waits_does_not_make_it_wait_again() {
        // Outside a runtime `yield_now` wakes the task at once; polled by hand here.
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut c = Coalesce::new(Logged {
            name: 0,
            log: log.clone(),
            busy: 0,
        });
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut c = Pin::new(&mut c);
        assert!(c.as_mut().poll_write(&mut cx, b"a").is_pending());
        assert!(matches!(
            c.as_mut().poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert!(matches!(
            c.as_mut().poll_write(&mut cx, b"a"),
            Poll::Ready(Ok(1))
        ));
        // Flushed after a write: the next answer waits.
        assert!(matches!(
            c.as_mut().poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        assert!(c.as_mut().poll_write(&mut cx, b"b").is_pending());
        assert!(matches!(
            c.as_mut().poll_write(&mut cx, b"b"),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(*log.lock().unwrap(), ["write 0 a", "write 0 b"]);
    }

    #[test]
    fn reads_pass_through() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async {
            use tokio::io::AsyncReadExt;
            let (a, b) = tokio::io::duplex(64);
            let mut a = Coalesce::new(a);
            let mut b = Coalesce::new(b);
            a.write_all(b"ping").await.unwrap();
            a.flush().await.unwrap();
            let mut got = [0; 4];
            b.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            b.write_all(b"pong").await.unwrap();
            b.shutdown().await.unwrap();
            let mut rest = Vec::new();
            a.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"pong");
        });
    }
}
