//! `--request-timeout`: a request that takes longer is answered 408, with the JSON body every
//! other error has.
//!
//! tower-http's `TimeoutLayer` starts a timer for every request, on tokio's timer wheel that
//! both worker threads share, and answers 408 without a body (which took a second layer to
//! mend). Most requests here are answered on their first poll: the body has arrived with the
//! head. So the timer starts only when the request first waits (for the rest of its body, or
//! for the outbox), and the time limit runs from there: a few microseconds after the request
//! came in.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::Response;
use tokio::time::Sleep;

/// The layer: wraps a service in [`Deadline`].
#[derive(Clone, Copy, Debug)]
pub struct DeadlineLayer {
    limit: Duration,
    answer: fn() -> Response,
}

impl DeadlineLayer {
    /// Requests taking longer than `limit` get `answer()`.
    pub fn new(limit: Duration, answer: fn() -> Response) -> Self {
        DeadlineLayer { limit, answer }
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limit: self.limit,
            answer: self.answer,
        }
    }
}

/// A service whose requests are answered `answer()` after `limit` of waiting.
#[derive(Clone, Copy, Debug)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
    answer: fn() -> Response,
}

impl<S, R> tower::Service<R> for Deadline<S>
where
    S: tower::Service<R, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        DeadlineFuture {
            inner: self.inner.call(request),
            timer: None,
            limit: self.limit,
            answer: self.answer,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of the inner service, or `answer()` once the timer has run out.
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        // Boxed: started for few requests, and `Sleep` cannot move once polled.
        timer: Option<Pin<Box<Sleep>>>,
        limit: Duration,
        answer: fn() -> Response,
    }
}

impl<F> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(r) = this.inner.poll(cx) {
            return Poll::Ready(r);
        }
        let limit = *this.limit;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok((this.answer)())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use tower::{Layer, Service, ServiceExt};

    fn late() -> Response {
        StatusCode::REQUEST_TIMEOUT.into_response()
    }

    /// A service that answers after `wait` (at once when zero).
    fn waiting(
        wait: Duration,
    ) -> impl Service<(), Response = Response, Error = Infallible> + Clone {
        tower::service_fn(move |()| async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok::<_, Infallible>(StatusCode::OK.into_response())
        })
    }

    #[tokio::test(start_paused = true)]
    async fn answers_in_time_pass_and_late_ones_get_the_answer_given() {
        let layer = DeadlineLayer::new(Duration::from_secs(1), late);
        for (wait, status) in [
            (Duration::ZERO, StatusCode::OK),
            (Duration::from_millis(999), StatusCode::OK),
            (Duration::from_millis(1001), StatusCode::REQUEST_TIMEOUT),
            (Duration::from_secs(60), StatusCode::REQUEST_TIMEOUT),
        ] {
            let started = tokio::time::Instant::now();
            let r = layer.layer(waiting(wait)).oneshot(()).await;
            let Ok(r) = r;
            assert_eq!(r.status(), status, "{wait:?}");
            // A late answer comes at the limit, not when the service is done.
            assert!(
                started.elapsed() <= Duration::from_secs(1).max(wait),
                "{wait:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_starts_when_the_service_first_waits() {
        let layer = DeadlineLayer::new(Duration::from_secs(1), late);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);

        let mut at_once = layer.layer(waiting(Duration::ZERO));
        let mut fut = std::pin::pin!(at_once.call(()));
        let polled = fut.as_mut().poll(&mut cx);
        assert!(matches!(polled, Poll::Ready(Ok(ref r)) if r.status() == StatusCode::OK));
        assert!(fut.as_mut().project().timer.is_none());

        let mut later = layer.layer(waiting(Duration::from_millis(10)));
        let mut fut = std::pin::pin!(later.call(()));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(fut.as_mut().project().timer.is_some());
    }
}
