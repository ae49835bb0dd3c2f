from flask import Blueprint
bp = Blueprint("achats", __name__)
