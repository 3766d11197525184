"""The shared :class:`~otpgate.regulation.regulator.Regulator`: one round trip each way.

With ``[state] url`` the throttle and the guess budget are counted in every
gate process and host (:mod:`otpgate.state`) as well as in this process's
tables (:class:`~otpgate.regulation.regulator.LocalRegulator`, which this one
extends).  Every failure is counted in both; a client waits for the longer
answer, so guesses spread over processes meet one backoff and one budget,
and while the shared state is away each process still keeps its own (the
fallback costs nothing to switch to: it was counting all along).

Why one round trip each way, of one shape (issue 17): with Redis, an attempt
used to make up to seven calls, and how many depended on the answers: a name
whose budget was spent stopped after three, and a budget read grew with the
failures in it.  Timed through the JSON API, that told which names exist.
Now an attempt that reaches the worker thread asks for everything it may need
in one pipeline (:meth:`SharedRegulator.before`: the pair's backoff, the trust
mark of the client's address, the budget windows of its lanes, a credential
another gate accepted), and every refused attempt, counted or not, tells its
outcome in one script (:meth:`SharedRegulator.refused`).  Which commands go
out depends on the client (a claimed or a proven address, a device cookie),
never on the name, its history or the answers.

The event loop's check (:meth:`SharedRegulator.peek`) never waits for the
network: it reads the pair's throttle and the waits this process has already
learned from the shared table.  The guess budget is not part of it: a name's
spent budget is found in the worker thread, at the same cost as any other
name's attempt (the answer, "wait", is the same for names that exist and
names that do not, since both have a budget).

Budget lanes (:mod:`otpgate.regulation.budget`): ``u`` for all untrusted clients of a
user, ``d:<nonce>`` for a device cookie, ``a:<address>`` for an address the
user logged in from within ``trusted_for``.  A successful login from a proven
address leaves a shared trust mark that expires after ``trusted_for``, so an
address trusted by one process is trusted by all.  In the shared windows,
failures for names that do not exist share the user's ``u`` lane: Redis keeps
each key apart and lets it expire, so junk names cannot push a real user's
failures out (the reason the local budget keeps them in a table of their own).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..state.base import Ask, Backoff, Entry, SharedState, Tell
from .regulator import UNTRUSTED, Before, Guess, LocalRegulator, longer

if TYPE_CHECKING:
    from ..config.auth import AuthSettings

__all__ = ["SharedRegulator"]

THROTTLE: Final = "throttle"
WINDOWS: Final = "budget"
TRUST: Final = "trusted"


class SharedRegulator(LocalRegulator):
    """A :class:`~otpgate.regulation.regulator.Regulator` counting here and in a shared state.

    Args:
        settings: the throttle's and the budget's settings.
        state: where the counts are shared.
        apply: writes a user's failure counts into the store.
    """

    def __init__(
        self,
        settings: AuthSettings,
        state: SharedState,
        apply: Callable[[str, int, float], None],
    ) -> None:
        super().__init__(settings, apply)
        self.state = state
        self.rule = Backoff(self.throttle.free_failures, self.throttle.base, self.throttle.cap)
        self._lock = threading.Lock()
        # Pair -> blocked-until learned from the shared table; bounded like the local table.
        self._learned: OrderedDict[str, float] = OrderedDict()

    # -- keys ----------------------------------------------------------------

    def _pair(self, user: str, ip: str) -> Entry:
        # The address comes first and holds no "|": the key is unambiguous.
        return THROTTLE, f"{self.throttle.address(ip)}|{user}"

    @staticmethod
    def _window(user: str, lane: str) -> Entry:
        # The lane's length first: a device nonce holding "|" stays unambiguous.
        return WINDOWS, f"{len(lane)}:{lane}|{user}"

    def _trust(self, user: str, ip: str) -> Entry:
        return TRUST, f"{self._address(ip)}|{user}"  # an address holds no "|"

    def _lanes(self, guess: Guess) -> tuple[str, ...]:
        """The budget lanes to read: the client's kind decides, not the name."""
        client = guess.client
        if self.budget.guesses == 0:
            return ()
        if client.device is not None:
            return ("d:" + client.device,)
        if client.proven:
            return (UNTRUSTED, "a:" + self._address(client.ip))
        return (UNTRUSTED,)

    # -- the event loop: memory only -------------------------------------------

    def peek(self, user: str, ip: str, now: float) -> float | None:
        """The pair's wait from memory: this process's table and what it learned."""
        local = self.throttle.retry_after(user, ip, now)
        key = self._pair(user, ip)[1]
        with self._lock:
            until = self._learned.get(key)
            if until is not None and now >= until:
                del self._learned[key]
                until = None
        return longer(local, until - now if until is not None else None)

    def _learn(self, key: str, wait: float | None, now: float) -> None:
        if wait is None:
            return
        with self._lock:
            self._learned[key] = now + wait
            self._learned.move_to_end(key)
            while len(self._learned) > self.throttle.max_entries:
                self._learned.popitem(last=False)

    # -- one attempt ---------------------------------------------------------------

    def before(self, guess: Guess, now: float, *, credential: bool) -> Before:
        """One round trip: the pair's backoff, the trust mark, the lanes, a credential."""
        user, client = guess.user, guess.client
        lanes = self._lanes(guess)
        pair = self._pair(user, client.ip)
        proven = client.proven and client.device is None
        question = Ask(
            pair,
            self._trust(user, client.ip) if proven and lanes else None,
            tuple(self._window(user, lane) for lane in lanes),
            self.budget.window,
            self.budget.guesses,
            guess.key if credential and guess.key and self.state.shares_credentials else None,
        )
        answer = self.state.ask(question, now)
        self._learn(pair[1], answer.wait, now)
        wait = longer(self.throttle.retry_after(user, client.ip, now), answer.wait)
        lane = self.budget.lane(user, client, now)
        if lane is None and proven and answer.marked:
            # Trusted by another process: learn it from now on.
            self.budget.seen(user, client.ip, now, now)
            lane = "a:" + self._address(client.ip)
        lane = lane if lane is not None else UNTRUSTED
        if lane in lanes:
            shared = answer.waits[lanes.index(lane)]
            wait = longer(wait, longer(self.budget.retry_after(user, client, now), shared))
        return Before(wait, lane, answer.credential)

    def refused(
        self, guess: Guess, before: Before, now: float, *, counted: bool, known: bool
    ) -> float | None:
        """One round trip for every refusal, counted or not (its shape tells nothing)."""
        local = super().refused(guess, before, now, counted=counted, known=known)
        pair = self._pair(guess.user, guess.client.ip)
        lane = self._window(guess.user, before.lane) if self.budget.guesses else None
        outcome = Tell(pair, self.rule, lane, self.budget.window, self.budget.guesses, counted)
        shared = self.state.tell(outcome, now)
        self._learn(pair[1], shared, now)
        return longer(local, shared)

    def accepted(self, guess: Guess, now: float) -> None:
        """Clear the pair everywhere, trust a proven address everywhere."""
        user, client = guess.user, guess.client
        super().accepted(guess, now)
        pair = self._pair(user, client.ip)
        with self._lock:
            self._learned.pop(pair[1], None)
        self.state.clear(*pair)
        lanes = []
        if client.device is not None:
            lanes.append("d:" + client.device)
        if client.proven and self.budget.trusted_for > 0:
            lanes.append("a:" + self._address(client.ip))
            self.state.mark(*self._trust(user, client.ip), self.budget.trusted_for)
        for lane in lanes:
            self.state.window_clear(*self._window(user, lane))
