"""The denominator of every benchmark: a Flask app with one route that returns "hello", served
by gunicorn exactly as CareCycle is (same workers, same machine, same run)."""
from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello():
    return "hello"
