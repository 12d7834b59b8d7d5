import pytest

from issuer.accounts import Unauthorized
from issuer.errors import AlreadyIssued, InvalidState, NotFound, NotInitialized
from issuer.weberrors import status_of
from shared.errors import ConfigError, InputError


@pytest.mark.parametrize(("err", "status"), [
    (Unauthorized(), 401), (NotFound(), 404), (AlreadyIssued(), 409), (InvalidState(), 409),
    (InputError(), 400), (NotInitialized(), 503), (ConfigError(), 500),
])
def test_one_status_per_error_for_pages_and_api(err, status) -> None:
    assert status_of(err) == status
