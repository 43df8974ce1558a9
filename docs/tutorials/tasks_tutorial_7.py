"""Futures managed by a request cache: resolved by the owner (True), by a timeout (False, as registered
with ``register_future``) or cancelled when the RequestCache shuts down."""
import asyncio

from ipv8fast import NumberCache, RequestCache


class MyCache(NumberCache):
    def __init__(self, request_cache: RequestCache, number: int) -> None:
        super().__init__(request_cache, "my-cache", number)
        self.future = asyncio.Future()
        self.register_future(self.future, on_timeout=False)

    @property
    def timeout_delay(self) -> float:
        return 1.0


async def main() -> None:
    rq = RequestCache()

    rq.add(MyCache(rq, 1))
    answered = rq.get("my-cache", 1)
    rq.pop("my-cache", 1).future.set_result(True)
    print(await answered.future)

    with rq.passthrough():
        timed_out = rq.add(MyCache(rq, 2))
    print(await timed_out.future)

    pending = rq.add(MyCache(rq, 3))
    await rq.shutdown()
    print(f"cancelled={pending.future.cancelled()}")


asyncio.run(main())
