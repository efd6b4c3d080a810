"""Extension objects, bare; `create_app` binds them."""
from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from carecycle.database import Base

db = SQLAlchemy(model_class=Base)
# Models subclass `Model`, which is `db.Model`; a type checker cannot take an attribute as a base
# class (python/mypy#8603), so it is shown the declarative base `db.Model` is made from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
