"""Hypothesis strategies for visibility (VIS-1..8): hostile worlds and random rules.

(One of the test kit's family modules, :mod:`crmcore.testing`.)

A :class:`World` holds several tenants' users, tasks, documents, notes and CRM records, with the
data a compiler gets wrong: missing creators and supervisors (``None``), tasks without
assignees, assignees from another tenant, empty permission levels, unknown flags (``None``).
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
from hypothesis import strategies as st

from crmcore.visibility.policy import (
    CRM_KINDS,
    AllOf,
    Always,
    AnyOf,
    AttributeEquals,
    AttributeIn,
    AttributeIsNull,
    AttributeIsViewer,
    Condition,
    CrmRecord,
    Document,
    Module,
    Never,
    Not,
    Note,
    Principal,
    Record,
    RecordKind,
    Role,
    Task,
    ViewerHasModule,
    ViewerIn,
    ViewerRole,
    ViewerSupervises,
)

__all__ = ["World", "conditions", "worlds"]


@attrs.frozen
class World:
    users: tuple[Principal, ...]
    tasks: tuple[Task, ...]
    documents: tuple[Document, ...]
    notes: tuple[Note, ...]
    crm_records: tuple[CrmRecord, ...]

    def records(self) -> Iterator[Record]:
        yield from self.tasks
        yield from self.documents
        yield from self.notes
        yield from self.crm_records


@st.composite
def worlds(draw: st.DrawFn, max_tenants: int = 3, max_users: int = 5) -> World:
    """Several tenants in one database; ids are unique across the whole world."""
    tenant_count = draw(st.integers(1, max_tenants))
    users: list[Principal] = []
    next_id = iter(range(1, 10_000))
    for number in range(tenant_count):
        tenant = f"tenant-{number}"
        ids = [next(next_id) for _ in range(draw(st.integers(1, max_users)))]
        for user_id in ids:
            users.append(
                Principal(
                    tenant,
                    user_id,
                    draw(st.sampled_from(Role)),
                    draw(st.frozensets(st.sampled_from(Module))),
                    draw(st.none() | st.sampled_from(ids)),
                )
            )
    # the other end of the supervisor links, as load_principal reads it
    users = [
        attrs.evolve(
            u,
            subordinates={
                s.user_id
                for s in users
                if s.supervisor_id == u.user_id and s.tenant_id == u.tenant_id
            },
        )
        for u in users
    ]
    tenants = st.sampled_from([f"tenant-{n}" for n in range(tenant_count)])
    # any user id, of any tenant, or one nobody has, or none at all
    someone = st.none() | st.sampled_from([u.user_id for u in users]) | st.just(9_999)
    tasks = [
        Task(
            draw(tenants),
            next(next_id),
            draw(someone),
            draw(st.none() | st.sampled_from(Role)),
            draw(st.frozensets(st.sampled_from([u.user_id for u in users]), max_size=3)),
            draw(someone),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    flag = st.none() | st.booleans()
    documents = [
        Document(draw(tenants), next(next_id), draw(someone), draw(flag))
        for _ in range(draw(st.integers(0, 4)))
    ]
    notes = [
        Note(draw(tenants), next(next_id), draw(someone), draw(flag))
        for _ in range(draw(st.integers(0, 4)))
    ]
    crm_kinds = st.sampled_from(sorted(CRM_KINDS))
    crm = [
        CrmRecord(draw(tenants), next(next_id), draw(crm_kinds), draw(someone))
        for _ in range(draw(st.integers(0, 4)))
    ]
    return World(tuple(users), tuple(tasks), tuple(documents), tuple(notes), tuple(crm))


_PERSON_ATTRIBUTES = {
    RecordKind.TASK: ("creator_id", "supervisor_id"),
    RecordKind.DOCUMENT: ("uploader_id",),
    RecordKind.NOTE: ("author_id",),
}


def conditions(kind: RecordKind) -> st.SearchStrategy[Condition]:
    """Random rules in the rule language about records of ``kind`` (tasks, documents, notes)."""
    people = _PERSON_ATTRIBUTES[kind]
    leaves: list[st.SearchStrategy[Condition]] = [
        st.just(Always()),
        st.just(Never()),
        st.builds(AttributeIsViewer, st.sampled_from(people)),
        st.builds(AttributeIsNull, st.sampled_from(people)),
        st.builds(ViewerRole, st.frozensets(st.sampled_from(Role))),
        st.builds(ViewerHasModule, st.sampled_from(Module)),
        st.builds(AttributeEquals, st.sampled_from(people), st.integers(1, 12)),
        st.builds(ViewerSupervises, st.sampled_from(people)),
    ]
    if kind is RecordKind.TASK:
        leaves += [
            st.just(ViewerIn("assignees")),
            st.builds(AttributeIsNull, st.just("creator_role")),
            st.builds(AttributeIn, st.just("creator_role"), st.frozensets(st.sampled_from(Role))),
        ]
    else:
        flag = "visible_to_all" if kind is RecordKind.DOCUMENT else "internal"
        leaves += [
            st.builds(AttributeEquals, st.just(flag), st.booleans()),
            st.builds(AttributeIsNull, st.just(flag)),
        ]

    def extend(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
        many = st.lists(children, min_size=0, max_size=3)
        return st.builds(AllOf, many) | st.builds(AnyOf, many) | st.builds(Not, children)

    return st.recursive(st.one_of(leaves), extend, max_leaves=8)
