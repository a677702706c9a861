"""The hospital ETP team's pages: /team/…"""
