"""RequestCache timeouts: a cache that nobody pops times out after its timeout_delay."""
import asyncio

from ipv8.requestcache import NumberCacheWithName, RequestCache


class MyState(NumberCacheWithName):
    name = "my-state"

    def __init__(self, request_cache: RequestCache, identifier: int, state: int) -> None:
        super().__init__(request_cache, self.name, identifier)
        self.state = state

    @property
    def timeout_delay(self) -> float:
        return 3.0

    def on_timeout(self) -> None:
        print(f"Timed out: {self.name} number {self.number} with state {self.state}")


async def main() -> None:
    request_cache = RequestCache()
    request_cache.add(MyState(request_cache, 0, 42))
    print("Added, waiting 4 seconds")
    await asyncio.sleep(4)
    print("Still there:", request_cache.has(MyState, 0))
    await request_cache.shutdown()


asyncio.run(main())
