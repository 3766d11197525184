"""The gate's settings: one loader, one schema per table, validated per field.

Exports (import them from their modules; this package's ``__init__`` imports
nothing, so that ``otpgate.config.auth`` stays light for the login code):

* :mod:`.loader`: :func:`~.loader.load_config` (TOML file, ``OTPGATE_<TABLE>_<SETTING>``
  environment, ``[mod_authn_otp]`` directive names, command-line overrides) and
  :class:`~.loader.Config`, whose fields are the tables;
* the sections, one per table: :class:`.store.StoreConfig`, :class:`.auth.AuthSettings`,
  :class:`.web.WebConfig`, :class:`.state.StateSettings`;
* :mod:`.schema` (:func:`~.schema.setting`, :class:`~.schema.Section`), :mod:`.kinds`
  (how a value is read from TOML or text), :mod:`.rules` (what a value must be),
  :mod:`.directives` (mod_authn_otp's names), :mod:`.secret_files`.

Adding a table, say ``[directory]``:

1. ``config/directory.py``: a frozen dataclass deriving from :class:`~.schema.Section`,
   one field per setting, with its rule where it is declared::

       @dataclass(frozen=True, slots=True)
       class DirectoryConfig(Section):
           url: str | None = setting(None, rule(lambda v: v.startswith("ldaps://"), "must be ldaps://..."))
           timeout: float = setting(5.0, POSITIVE)

   A field's kind comes from its annotation (``bool``, ``int``, ``float``, ``str``,
   ``tuple[str, ...]``, each also ``| None``: :data:`.kinds.KINDS`).
2. One line in :class:`~.loader.Config`:
   ``directory: DirectoryConfig = field(default_factory=DirectoryConfig)``.

The table, its ``OTPGATE_DIRECTORY_*`` variables, unknown names, kinds and rules
then come from the loader; nothing else changes.  ``config`` imports only
``otp``, ``errors`` and ``_limits`` (tests/config/test_layering.py).
"""
