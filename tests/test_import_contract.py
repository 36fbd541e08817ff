"""The import contract (tests/import_contract.py) holds, and would catch a breach."""

import shutil

from tests import import_contract


def test_the_contract_holds():
    assert import_contract.check() == []


def planted(tmp_path, relative, code):
    """A copy of the layered packages with `code` appended to one module."""
    for package in import_contract.LAYERS:
        shutil.copytree(
            import_contract.ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    with open(tmp_path / relative, "a") as module:
        module.write("\n" + code + "\n")
    return import_contract.check(tmp_path)


def test_an_upward_import_inside_a_function_breaks_it(tmp_path):
    breaches = planted(tmp_path, "relay/storage.py", "def sneak():\n    from inference.models import InferenceJob\n")
    assert any("relay.storage imports inference.models, a higher layer" in breach for breach in breaches), breaches


def test_django_in_the_detector_library_breaks_it(tmp_path):
    breaches = planted(tmp_path, "detector/events.py", "import django.db")
    assert any("detector uses no django" in breach for breach in breaches)


def test_a_cycle_inside_an_app_breaks_it(tmp_path):
    breaches = planted(tmp_path, "datasets/runner.py", "def back():\n    from datasets import tasks\n")
    assert any(b.startswith("import cycle:") and "datasets.tasks" in b for b in breaches), breaches


def test_the_client_importing_the_server_breaks_it(tmp_path):
    shutil.copytree(import_contract.ROOT / "client", tmp_path / "client", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "client/relay_client/results.py", "a") as module:
        module.write("\ndef sneak():\n    from datasets.models import AudioFile\n")
    with open(tmp_path / "client/relay_client/sniff.py", "a") as module:
        module.write("\nimport django\n")
    breaches = import_contract.check(tmp_path)
    assert any("relay_client.results imports datasets.models" in b for b in breaches), breaches
    assert any("relay_client.sniff imports django" in b for b in breaches), breaches
