# Environment for running Rasa 3.6 / rasa-sdk from .venv-rasa without start-up noise.
# Source it (exports only):  . scripts/rasa-env.sh
#
# SQLAlchemy 1.4 "MovedIn20Warning: Deprecated API features detected" (rasa's tracker
# store imports it): SQLAlchemy's own switch for that warning.
export SQLALCHEMY_SILENCE_UBER_WARNING=1
# TensorFlow's C++ INFO/WARNING lines (oneDNN, CPU instructions, CUDA not found): errors
# only. Rasa sets this itself during its CLI setup; exporting it also covers code that
# imports tensorflow before that (tests, scripts, the action server).
export TF_CPP_MIN_LOG_LEVEL=2
# Python-side loggers of tensorflow, sanic, socketio, matplotlib, kafka, pika: errors only
# (Rasa's own default, made explicit). Rasa's own log level stays LOG_LEVEL (INFO).
export LOG_LEVEL_LIBRARIES=ERROR
# No telemetry: removes the telemetry banner on first run and Rasa's calls to its
# telemetry and error-reporting services (no network here besides package registries).
export RASA_TELEMETRY_ENABLED=false
#
# Not done here, on purpose: PYTHONWARNINGS. sanic 21.12 runs
# warnings.filterwarnings("once", category=DeprecationWarning) when imported, which puts
# its filter in front of any PYTHONWARNINGS/-W filter, so no environment variable can hide
# the remaining DeprecationWarning lines (argparse "Nesting argument groups",
# pkg_resources, sanic_cors "distutils Version classes", "module 'sre_constants'",
# pyparsing). They would have to be filtered inside the process after sanic is
# imported, or on stderr.
