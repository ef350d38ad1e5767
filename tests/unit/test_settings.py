from pathlib import Path

from streamscribe.settings import Settings


def test_defaults_work_offline_on_the_embedded_broker(monkeypatch):
    for var in ("STREAMSCRIBE_BOOTSTRAP_SERVERS", "USE_GPU_PIPELINE", "STREAMSCRIBE_USE_GPU_PIPELINE", "STREAMSCRIBE_WHISPER_MODEL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.bootstrap_servers is None
    assert s.whisper_model == "tiny.en"
    assert s.use_gpu_pipeline is False
    assert (s.input_topic, s.results_topic, s.dlq_topic) == ("audio.ready", "transcripts", "audio.ready.dlq")


def test_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("STREAMSCRIBE_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("STREAMSCRIBE_MAX_IN_FLIGHT", "4")
    s = Settings()
    assert s.bootstrap_servers == "kafka:9092" and s.max_in_flight == 4


def test_blank_bootstrap_servers_means_embedded(monkeypatch):
    monkeypatch.setenv("STREAMSCRIBE_BOOTSTRAP_SERVERS", " ")
    assert Settings().bootstrap_servers is None


def test_seed_variables_are_honoured(monkeypatch):
    monkeypatch.setenv("USE_GPU_PIPELINE", "true")
    monkeypatch.setenv("AUDIO_PIPELINE_DIR", "/srv/audio")
    s = Settings()
    assert s.use_gpu_pipeline is True
    assert s.audio_pipeline_dir == Path("/srv/audio")
    monkeypatch.setenv("STREAMSCRIBE_USE_GPU_PIPELINE", "false")
    assert Settings().use_gpu_pipeline is False, "the prefixed name wins"


def test_readme_documents_every_setting():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"`STREAMSCRIBE_{name.upper()}`" not in readme]
    assert not missing, f"add these settings to the README's configuration table: {missing}"


def test_readme_set_up_commands_are_the_ci_commands():
    root = Path(__file__).resolve().parents[2]
    test_command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert test_command in (root / "README.md").read_text()
    assert test_command in (root / ".ci" / "run").read_text()
