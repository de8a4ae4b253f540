from dialer.floor import Floor, FloorOperator, OperatorState


def floor_with(*specs: tuple[int, float, set[int]]) -> Floor:
    floor = Floor()
    for op_id, since, campaigns in specs:
        operator = FloorOperator(op_id, f"op{op_id}", str(100 + op_id), campaigns, phone_up=True)
        floor.add(operator)
        floor.set_state(operator, OperatorState.READY, since)
    return floor


def test_the_longest_idle_operator_takes_the_call() -> None:
    floor = floor_with((1, 30.0, {1}), (2, 10.0, {1}), (3, 20.0, {1}))
    assert floor.choose(1).id == 2


def test_a_personal_callback_goes_to_its_owner_when_free() -> None:
    floor = floor_with((1, 10.0, {1}), (2, 30.0, {1}))
    assert floor.choose(1, prefer=2).id == 2


def test_an_operator_of_another_campaign_is_never_chosen() -> None:
    floor = floor_with((1, 10.0, {2}))
    assert floor.choose(1) is None


def test_an_operator_may_work_several_campaigns() -> None:
    floor = floor_with((1, 10.0, {1, 2}))
    assert floor.choose(1).id == 1
    assert floor.choose(2).id == 1


def test_busy_operators_are_not_free() -> None:
    floor = floor_with((1, 10.0, {1}))
    floor.set_state(floor.operators[1], OperatorState.ON_CALL, 11.0)
    assert floor.free_for(1) == []
    assert [o.id for o in floor.busy_for(1)] == [1]


def test_experienced_first_routing_gives_the_call_to_the_highest_priority() -> None:
    floor = floor_with((1, 10.0, {1}), (2, 30.0, {1}), (3, 20.0, {1}))
    floor.operators[2].priority = 5
    assert floor.choose(1, routing="experienced_first").id == 2
    assert floor.choose(1, routing="newcomers_first").id == 1   # priorities 0: the longest idle of them
    floor.operators[1].priority = 3
    assert floor.choose(1, routing="newcomers_first").id == 3
